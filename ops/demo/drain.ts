import type pg from "pg";
import { waitFor } from "../fleet-runner/wait.ts";
import { appliedEventIds } from "./books.ts";
import type { EmittedEvent, EmulatorControl } from "./emulator-control.ts";
import type { EventsListener } from "./events-listener.ts";
import type { Progress } from "./progress.ts";

/** What the drain saw last: the summary reports from it even when a wait ran out. */
export interface Drained {
  emitted: EmittedEvent[];
  applied: Set<string>;
}

/**
 * Waits until the fleet is quiet: every webhook delivered, every emitted event applied, the
 * malformed command archived, the outbox published and heard by the listener. A wait that runs
 * out is not thrown: the checks then say what is missing.
 */
export async function drainFleet(options: {
  pool: pg.Pool;
  emulator: EmulatorControl;
  listener: EventsListener;
  poisonId: string;
  progress: Progress;
  timeoutMs: number;
}): Promise<Drained> {
  const { pool, emulator, listener, progress } = options;
  await emulator.deliverPending();
  const emitted = await emulator.events();
  const ids = emitted.map((e) => e.id);
  progress.phase("draining the queue", ids.length);
  let applied = new Set<string>();
  const deadline = Date.now() + options.timeoutMs;
  const left = () => Math.max(1000, deadline - Date.now());
  const quietly = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      () => undefined,
    );

  await quietly(
    waitFor(
      async () => {
        applied = await appliedEventIds(pool, ids);
        progress.update(applied.size);
        return applied.size === ids.length ? true : undefined;
      },
      { timeoutMs: left(), intervalMs: 150, describe: () => "events not applied" },
    ),
  );
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await pool.query<{ n: string }>(sql, params)).rows[0]?.n ?? 0);
  await quietly(
    waitFor(
      async () =>
        (await count("SELECT count(*)::text AS n FROM billing.dead_letters WHERE message_id = $1", [
          options.poisonId,
        ])) > 0
          ? true
          : undefined,
      { timeoutMs: Math.min(15_000, left()), describe: () => "no dead letter" },
    ),
  );
  await quietly(
    waitFor(
      async () =>
        (await count("SELECT count(*)::text AS n FROM billing.outbox WHERE published_at IS NULL")) === 0
          ? true
          : undefined,
      { timeoutMs: Math.min(15_000, left()), describe: () => "outbox not published" },
    ),
  );
  await quietly(
    waitFor(
      async () => {
        const published = await count(
          "SELECT count(*)::text AS n FROM billing.outbox WHERE published_at IS NOT NULL",
        );
        return listener.seen().distinct >= published ? true : undefined;
      },
      { timeoutMs: Math.min(10_000, left()), describe: () => "listener behind" },
    ),
  );
  progress.done();
  return { emitted, applied };
}
