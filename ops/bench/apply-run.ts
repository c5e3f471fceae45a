import type pg from "pg";
import type { Fleet } from "../fleet-runner/fleet.ts";
import { waitFor } from "../fleet-runner/wait.ts";
import { appliedCount, exactlyOnce, resetTables } from "./bench-db.ts";
import { type CpuShares, sampleCpu } from "./cpu-sampler.ts";
import { prefillQueue, readyInQueue } from "./prefill.ts";
import { sampleRss } from "./rss-sampler.ts";
import type { BenchEvent } from "./signed-events.ts";

/** One apply measurement: a pre-filled billing_queue drained by workers into Postgres. */
export interface ApplyResult {
  readonly workers: number;
  readonly prefetch: number;
  readonly poolSize: number;
  /** WORKER_BATCH_SIZE: most events per transaction. */
  readonly batchSize: number;
  readonly events: number;
  readonly duplicates: number;
  readonly publishPerS: number;
  /** Distinct events over first-to-last commit. */
  readonly eventsPerS: number;
  /** From the workers' spawn to the last commit (startup included). */
  readonly wallSeconds: number;
  /** Distinct events applied: less than `events` only when the run was cut at its time limit. */
  readonly applied: number;
  /** When cut: the seconds the whole drain would take at the rate measured. */
  readonly projectedSeconds: number | undefined;
  readonly drainSeconds: number;
  readonly exactlyOnce: boolean;
  readonly exactlyOnceDetail: string;
  readonly peakRssMiB: number;
  /** Cores used while the workers ran, by group ("other": the rest of the machine). */
  readonly cpu: CpuShares;
}

/**
 * Resets the tables, publishes `events` (plus `duplicates` re-sent ids) to billing_queue, starts
 * the workers and waits until every distinct event is applied and the queue is empty.
 */
export async function applyRun(options: {
  fleet: Fleet;
  env: Record<string, string>;
  pool: pg.Pool;
  amqpUrl: string;
  workers: number;
  prefetch: number;
  poolSize: number;
  batchSize: number;
  events: readonly BenchEvent[];
  duplicates: number;
  /** Epoch ms by which the run must end (the clock starts after the pre-fill). */
  deadlineMs: number;
  /** At the time limit, stop and report what was applied instead of failing. */
  partialAtTimeout?: boolean;
}): Promise<ApplyResult> {
  const { fleet, pool, amqpUrl, events } = options;
  await resetTables(pool);
  const again = events.slice(0, options.duplicates);
  const publishPerS = await prefillQueue(amqpUrl, [...events, ...again]);
  const expectedTotal = events.reduce((sum, e) => sum + e.amount, 0);
  const deposits = events.filter((e) => e.amount > 0).length;

  const startedAt = Date.now();
  const timeoutMs = Math.max(10_000, options.deadlineMs - startedAt);
  const workers = Array.from({ length: options.workers }, (_, i) =>
    fleet.startProcfile(
      "worker",
      `apply-w${options.workers}-p${options.prefetch}-c${options.poolSize}-b${options.batchSize}-${i + 1}`,
      {
        ...options.env,
        WORKER_PREFETCH: String(options.prefetch),
        PG_POOL_SIZE: String(options.poolSize),
        WORKER_BATCH_SIZE: String(options.batchSize),
        METRICS_PORT: "0",
      },
    ),
  );
  const rss = sampleRss(workers.map((w) => w.pid));
  const cpuSampler = sampleCpu(new Map(workers.map((w) => [w.pid, "workers"])));
  let peak = new Map<number, number>();
  let cpu: CpuShares = {};
  try {
    const done = waitFor(
      async () => {
        for (const worker of workers) {
          if (worker.hasExited())
            throw new Error(`${worker.label} exited during the run (log: ${worker.logFile})`);
        }
        return (await appliedCount(pool)) >= events.length && (await readyInQueue(amqpUrl)) === 0
          ? true
          : undefined;
      },
      {
        timeoutMs,
        intervalMs: 250,
        describe: async () =>
          `apply run (${options.workers} workers, prefetch ${options.prefetch}): ${await appliedCount(pool)} of ${events.length} applied after ${Math.round(timeoutMs / 1000)} s`,
      },
    );
    await (options.partialAtTimeout === true ? done.catch(() => undefined) : done);
  } finally {
    peak = rss.stop();
    cpu = cpuSampler.stop();
    await Promise.all(workers.map((w) => fleet.stop(w)));
  }
  const counts = await exactlyOnce(pool);
  const n = events.length;
  const applied = counts.stripeEvents;
  const complete = applied === n;
  // Cut short, exactly-once is checked on what was applied: one inbox row and one credit each.
  const ok = complete
    ? counts.processedMessages === n &&
      counts.depositCredits === deposits &&
      counts.creditedEvents === deposits &&
      counts.balanceTotal === expectedTotal
    : counts.processedMessages === applied && counts.depositCredits === counts.creditedEvents;
  const drainSeconds = (counts.lastAtMs - counts.firstAtMs) / 1000;
  const rate = drainSeconds > 0 ? (applied - 1) / drainSeconds : 0;
  return {
    workers: options.workers,
    prefetch: options.prefetch,
    poolSize: options.poolSize,
    batchSize: options.batchSize,
    events: n,
    duplicates: again.length,
    publishPerS,
    eventsPerS: rate,
    wallSeconds: (counts.lastAtMs - startedAt) / 1000,
    drainSeconds,
    applied,
    projectedSeconds: complete || rate === 0 ? undefined : n / rate,
    exactlyOnce: ok,
    exactlyOnceDetail: `${applied} events, ${counts.processedMessages} inbox rows, ${counts.depositCredits} credits (${counts.creditedEvents} balance.credited) for ${n} distinct with ${deposits} deposits (+${again.length} duplicates); balances ${counts.balanceTotal} vs ${expectedTotal}`,
    peakRssMiB: Math.max(0, ...peak.values()),
    cpu,
  };
}
