// Groups deliveries into batches like a group commit: a batch goes as soon as it is full, or at
// the end of the current tick when fewer than `maxInFlight` batches are being applied; otherwise
// deliveries keep gathering until one finishes. So an idle worker applies what it has at once,
// and a busy one hands Postgres fewer, larger batches.

export interface Batcher<T> {
  add(item: T): void;
  /** Hands every waiting item to `apply` now, in full batches (at stop: drain, don't wait). */
  flushAll(): void;
  /** Items waiting for a batch. */
  pending(): number;
  /** Drops the items waiting (their channel closed: the broker redelivers them). */
  clear(): void;
}

/**
 * A batcher that hands batches of at most `size` to `apply`, at most `maxInFlight` at once unless
 * full. `apply` settles its own items; what it throws goes to `onError`.
 */
export function createBatcher<T>(options: {
  size: number;
  maxInFlight: number;
  apply: (batch: T[]) => Promise<void>;
  onError: (error: unknown) => void;
}): Batcher<T> {
  let waiting: T[] = [];
  let inFlight = 0;
  let scheduled = false;

  const send = (batch: T[]) => {
    inFlight += 1;
    const done = () => {
      inFlight -= 1;
      if (waiting.length > 0) schedule();
    };
    options.apply(batch).then(done, (error: unknown) => {
      done();
      options.onError(error);
    });
  };

  const flush = () => {
    scheduled = false;
    while (waiting.length >= options.size) send(waiting.splice(0, options.size));
    if (waiting.length > 0 && inFlight < options.maxInFlight) {
      const batch = waiting;
      waiting = [];
      send(batch);
    }
  };

  // The end of this tick: every delivery of the socket read that brought this one is in.
  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  }

  return {
    add(item) {
      waiting.push(item);
      if (waiting.length >= options.size) flush();
      else schedule();
    },
    flushAll() {
      while (waiting.length > 0) send(waiting.splice(0, options.size));
    },
    pending: () => waiting.length,
    clear() {
      waiting = [];
    },
  };
}
