import { readFileSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import type { Fleet, FleetProcess } from "../fleet-runner/fleet.ts";
import { logTail } from "../fleet-runner/fleet.ts";
import { waitFor } from "../fleet-runner/wait.ts";
import { appliedCount, appliedTimes, resetTables } from "./bench-db.ts";
import { type CpuShares, sampleCpu } from "./cpu-sampler.ts";
import type { PacedResult } from "./paced-sender.ts";
import { percentile } from "./percentile.ts";
import { sampleRss } from "./rss-sampler.ts";

/** Webhook POST → committed row, at a fixed rate through the whole fleet. */
export interface EndToEndResult {
  readonly ratePerS: number;
  readonly seconds: number;
  readonly sent: number;
  readonly accepted: number;
  readonly applied: number;
  /** False when the wait for commits ran out: the percentiles then leave out the slowest events. */
  readonly complete: boolean;
  readonly httpP50Ms: number;
  readonly httpP99Ms: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly peakWorkerRssMiB: number;
  readonly cpu: CpuShares;
}

/** Sends at `rate` for `seconds` with the paced sender (its own process) and reads commit times back. */
export async function endToEndRun(options: {
  fleet: Fleet;
  pool: pg.Pool;
  webUrl: string;
  secret: string;
  rate: number;
  seconds: number;
  workers: readonly FleetProcess[];
  /** pid → group for the CPU breakdown (web, workers, relay). */
  labels: ReadonlyMap<number, string>;
  /** How long to wait for the last commit after the sender is done. */
  drainTimeoutMs: number;
}): Promise<EndToEndResult> {
  const { fleet, pool } = options;
  await resetTables(pool);
  const out = join(fleet.logDir, "paced-sender.json");
  const rss = sampleRss(options.workers.map((w) => w.pid));
  const sender = fleet.startScript(
    "ops/bench/paced-sender.ts",
    [
      ...["--url", `${options.webUrl}/webhooks/stripe`, "--secret", options.secret],
      ...["--rate", String(options.rate), "--seconds", String(options.seconds), "--out", out],
      ...["--accounts", "1000", "--prefix", `e2e${Date.now().toString(36)}`],
    ],
    "paced-sender",
    {},
  );
  const cpuSampler = sampleCpu(new Map([...options.labels, [sender.pid, "sender"]]));
  const code = await sender.exited;
  if (code !== 0) throw new Error(`paced sender exited ${code}:\n${logTail(sender.logFile)}`);
  const result = JSON.parse(readFileSync(out, "utf8")) as PacedResult;
  const accepted = result.records.filter(([, , status]) => status === 200);
  const ids = accepted.map(([id]) => id);
  // Waits on the cheap inbox count (the run starts from empty tables), then reads the commit times
  // once: reading them for every id at each poll loaded Postgres while the fleet was catching up.
  let count = 0;
  await waitFor(
    async () => {
      count = await appliedCount(pool);
      return count >= ids.length ? true : undefined;
    },
    {
      timeoutMs: options.drainTimeoutMs,
      intervalMs: 250,
      describe: () => `end to end: ${count} of ${ids.length} accepted webhooks applied in time`,
    },
  ).catch(() => undefined);
  const applied = await appliedTimes(pool, ids);
  const peak = rss.stop();
  const cpu = cpuSampler.stop();
  const latencies = accepted.flatMap(([id, sentAt]) => {
    const at = applied.get(id);
    return at === undefined ? [] : [at - sentAt];
  });
  const http = result.records.map(([, , , ms]) => ms);
  return {
    ratePerS: options.rate,
    seconds: options.seconds,
    sent: result.records.length,
    accepted: accepted.length,
    applied: applied.size,
    complete: applied.size === ids.length,
    httpP50Ms: percentile(http, 50),
    httpP99Ms: percentile(http, 99),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(0, ...latencies),
    peakWorkerRssMiB: Math.max(0, ...peak.values()),
    cpu,
  };
}
