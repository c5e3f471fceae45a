import { budgetLimit, fullBudget, type Priority, take } from "../domain/token-budget.ts";

export type { Priority } from "../domain/token-budget.ts";

// One budget of Stripe requests per process: every call waits here for a token before it is sent.
// Commands go first and always find half the burst in reserve; background calls (reconciliation)
// take what is left. A 429 pauses every call of the process: Stripe's limit is the account's.

export interface RequestBudget {
  /** Resolves when a call of this priority may be sent; rejects with the signal's reason if it aborts first. */
  acquire(priority: Priority, signal?: AbortSignal): Promise<void>;
  /** Holds every call for `ms` from now (a 429's Retry-After); a shorter pause never shortens a longer one. */
  pause(ms: number): void;
  /** Calls waiting for a token, by priority. */
  waiting(): Record<Priority, number>;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/** A budget of `perSecond` requests per second (burst: one second's worth); the clock is injectable for tests. */
export function createRequestBudget(
  perSecond: number,
  now: () => number = performance.now.bind(performance),
): RequestBudget {
  const limit = budgetLimit(perSecond);
  let state = fullBudget(limit, now());
  let pausedUntil = 0;
  const queues: Record<Priority, Waiter[]> = { command: [], background: [] };
  let timer: NodeJS.Timeout | undefined;

  const wake = (inMs: number) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(drain, inMs);
  };

  function drain(): void {
    timer = undefined;
    const at = now();
    if (at < pausedUntil) {
      wake(Math.ceil(pausedUntil - at));
      return;
    }
    for (;;) {
      const priority: Priority | undefined =
        queues.command.length > 0 ? "command" : queues.background.length > 0 ? "background" : undefined;
      if (priority === undefined) return;
      const taken = take(state, limit, priority, at);
      state = taken.state;
      if (taken.waitMs > 0) {
        wake(taken.waitMs);
        return;
      }
      const waiter = queues[priority].shift() as Waiter;
      waiter.signal?.removeEventListener("abort", waiter.onAbort);
      waiter.resolve();
    }
  }

  return {
    acquire(priority, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          resolve,
          reject,
          signal,
          onAbort: () => {
            const queue = queues[priority];
            const at = queue.indexOf(waiter);
            if (at !== -1) queue.splice(at, 1);
            reject(signal?.reason);
          },
        };
        signal?.addEventListener("abort", waiter.onAbort, { once: true });
        queues[priority].push(waiter);
        drain();
      });
    },
    pause(ms) {
      if (!(ms > 0)) return;
      pausedUntil = Math.max(pausedUntil, now() + ms);
      if (queues.command.length + queues.background.length > 0) wake(Math.ceil(pausedUntil - now()));
    },
    waiting: () => ({ command: queues.command.length, background: queues.background.length }),
  };
}
