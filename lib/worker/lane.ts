// A lane of bounded concurrency: work beyond `limit` waits its turn in order. Commands run in one,
// so that their Stripe calls (each holding a Postgres connection) leave connections to batches.

export interface Lane {
  /** Runs `work` when a slot is free; resolves or rejects with it. */
  run<T>(work: () => Promise<T>): Promise<T>;
}

/** A lane that runs at most `limit` pieces of work at once. */
export function createLane(limit: number): Lane {
  let running = 0;
  const queue: Array<() => void> = [];
  return {
    async run(work) {
      if (running >= limit) await new Promise<void>((resolve) => queue.push(resolve));
      else running += 1;
      // a woken waiter takes over the slot of the one that finished (running is not decremented)
      try {
        return await work();
      } finally {
        if (queue.length > 0) queue.shift()?.();
        else running -= 1;
      }
    },
  };
}
