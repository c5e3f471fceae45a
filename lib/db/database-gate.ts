import { setTimeout as delay } from "node:timers/promises";
import { sql } from "kysely";
import { errorCode, errorMessage, TransientError } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import { databasePaused, databasePauses, databaseUp } from "../metrics/registry.ts";
import { classifyDbError, isDatabaseOutage } from "./classify-error.ts";
import type { Db } from "./database.ts";

// An outage of the database is nobody's message's fault, so it must spend nobody's retry budget.
// One gate per process: whatever meets the outage first (an apply, the relay, the archiver, the
// health sampler) closes it; everyone then holds their work back while the gate probes the
// database with backoff, and resumes by itself once the database answers and takes writes again.

export interface DatabaseGateOptions {
  /** First wait before probing a database that just failed. */
  readonly probeMinMs: number;
  /** Longest wait between two probes; the wait doubles up to it. */
  readonly probeMaxMs: number;
  /**
   * A gate that closes again within this long of opening goes on probing at the pace it had reached:
   * a flapping database is not hammered, and held work is not handed back every few milliseconds.
   */
  readonly stableMs: number;
}

export const defaultGateOptions: DatabaseGateOptions = Object.freeze({
  probeMinMs: 200,
  probeMaxMs: 2000,
  stableMs: 30_000,
});

export interface DatabaseGate {
  /** True while the database is taken to be usable. */
  isOpen(): boolean;
  /**
   * Runs one database operation: refused at once (database_unavailable) while the gate is closed;
   * an outage it meets closes the gate. Its own result or error is passed through.
   */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Reports an error of a database operation; true (and the gate closed) when it is an outage. */
  failed(error: unknown): boolean;
  /** Probes the database now when open (closing the gate on an outage); false while closed. */
  check(): Promise<boolean>;
  /** Resolves once the gate is open (at once when it is), or when `signal` aborts. */
  whenOpen(signal?: AbortSignal): Promise<void>;
  /** Calls `listener(open)` on every change; returns the unsubscribe. */
  onChange(listener: (open: boolean) => void): () => void;
  /** Stops probing and wakes every waiter; the process is stopping. Idempotent. */
  stop(): void;
}

/** A gate for one process's database, open at start. `process` labels its metrics (worker, relay). */
export function createDatabaseGate(
  deps: { db: Db; log: Logger; process: string },
  overrides: Partial<DatabaseGateOptions> = {},
): DatabaseGate {
  const options: DatabaseGateOptions = { ...defaultGateOptions, ...overrides };
  const log = deps.log.child({ subsystem: "database-gate" });
  const labels = { process: deps.process };
  const stopped = new AbortController();
  const listeners = new Set<(open: boolean) => void>();
  let waiters: Array<() => void> = [];
  let open = true;
  let closedAt = 0;
  let openedAt: number | undefined;
  let waitMs = options.probeMinMs;
  databasePaused.set(labels, 0);

  function close(error: unknown): void {
    if (!open || stopped.signal.aborted) return;
    open = false;
    closedAt = Date.now();
    const flapping = openedAt !== undefined && closedAt - openedAt < options.stableMs;
    waitMs = flapping ? Math.min(options.probeMaxMs, waitMs * 2) : options.probeMinMs;
    databasePaused.set(labels, 1);
    databasePauses.inc(labels);
    databaseUp.set(0);
    const classified = classifyDbError(error);
    log.warn(
      { code: errorCode(classified), reason: errorMessage(classified), firstProbeInMs: waitMs },
      "database unavailable: pausing work until it answers (nothing is retried or dead-lettered meanwhile)",
    );
    notify(false);
    void probeUntilOpen();
  }

  function reopen(probes: number): void {
    open = true;
    openedAt = Date.now();
    databasePaused.set(labels, 0);
    databaseUp.set(1);
    log.info({ pausedMs: openedAt - closedAt, probes }, "database answers again: resuming work");
    wakeWaiters();
    notify(true);
  }

  async function probeUntilOpen(): Promise<void> {
    let probes = 0;
    while (!open && !stopped.signal.aborted) {
      try {
        await delay(waitMs, undefined, { signal: stopped.signal });
      } catch {
        return; // stopped
      }
      probes += 1;
      if ((await probe()) === undefined) {
        reopen(probes);
        return;
      }
      waitMs = Math.min(options.probeMaxMs, waitMs * 2);
    }
  }

  /** undefined when the database answers and takes writes, else why not. */
  async function probe(): Promise<unknown> {
    try {
      const { rows } = await sql<{ read_only: string }>`
        SELECT current_setting('transaction_read_only') AS read_only`.execute(deps.db);
      return rows[0]?.read_only === "off"
        ? undefined
        : new TransientError("database_unavailable", "the database is read-only");
    } catch (error) {
      return error;
    }
  }

  function notify(state: boolean): void {
    for (const listener of listeners) {
      try {
        listener(state);
      } catch (error) {
        log.error({ reason: errorMessage(error) }, "a database gate listener failed");
      }
    }
  }

  function wakeWaiters(): void {
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  }

  function failed(error: unknown): boolean {
    if (!isDatabaseOutage(error)) return false;
    close(error);
    return true;
  }

  return {
    isOpen: () => open,

    async run(work) {
      if (!open) throw new TransientError("database_unavailable", "paused: the database is unavailable");
      try {
        return await work();
      } catch (error) {
        failed(error);
        throw error;
      }
    },

    failed,

    async check() {
      if (!open) return false;
      const problem = await probe();
      if (problem === undefined) {
        databaseUp.set(1);
        return true;
      }
      databaseUp.set(0);
      failed(problem);
      return false;
    },

    whenOpen(signal) {
      if (open || stopped.signal.aborted || signal?.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener("abort", wake);
          resolve();
        };
        waiters.push(wake);
        signal?.addEventListener("abort", wake, { once: true });
      });
    },

    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    stop() {
      stopped.abort();
      wakeWaiters();
    },
  };
}
