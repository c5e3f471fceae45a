// Counts deliveries taken and not yet settled, so that stop() can wait for them.

export interface InFlight {
  readonly count: () => number;
  /** Runs `work` as `deliveries` (default 1) deliveries in flight. */
  track(work: () => Promise<void>, deliveries?: number): Promise<void>;
  /** Counts `deliveries` as in flight until `end` is called for them. */
  begin(deliveries?: number): void;
  /** Ends what `begin` counted. */
  end(deliveries?: number): void;
  /** Resolves true once nothing is in flight, or false when `ms` pass first. */
  drained(ms: number): Promise<boolean>;
}

/** A counter of work in flight with a bounded wait for it to reach zero. */
export function createInFlight(): InFlight {
  let count = 0;
  const waiters = new Set<() => void>();
  const begin = (deliveries = 1) => {
    count += deliveries;
  };
  const end = (deliveries = 1) => {
    count -= deliveries;
    if (count === 0) for (const wake of waiters) wake();
  };
  return {
    count: () => count,
    begin,
    end,
    async track(work, deliveries = 1) {
      begin(deliveries);
      try {
        await work();
      } finally {
        end(deliveries);
      }
    },
    drained(ms) {
      if (count === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          waiters.delete(wake);
          resolve(false);
        }, ms);
        const wake = () => {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(true);
        };
        waiters.add(wake);
      });
    },
  };
}
