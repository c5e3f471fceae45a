import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Fleet } from "../fleet-runner/fleet.ts";
import { freePort } from "../fleet-runner/free-port.ts";
import { runFleetMain } from "../fleet-runner/run-main.ts";
import { waitForReady } from "../fleet-runner/wait.ts";
import { type BatchProbeResult, probeApply } from "./apply-probe.ts";
import { type ApplyResult, applyRun } from "./apply-run.ts";
import { deadlocks, resetTables } from "./bench-db.ts";
import { setUpStage } from "./bench-stage.ts";
import { sampleCpu } from "./cpu-sampler.ts";
import { type EndToEndResult, endToEndRun } from "./e2e-run.ts";
import { describeMachine } from "./machine.ts";
import { type OutageResult, outageRun } from "./outage-run.ts";
import { purgeQueue } from "./prefill.ts";
import { type BenchResults, renderReport, smallestNearBest, targets, withinMemory } from "./report.ts";
import { sampleRss } from "./rss-sampler.ts";
import { type BenchEvent, mixedBenchEvents } from "./signed-events.ts";
import { measureWorkLimit, type WorkLimit, workLimitScript } from "./work-limit.ts";
import { runWrk, type WrkResult, writeSignedRequests, wrkVersion } from "./wrk.ts";

// `npm run bench`: the database's own limit, ingest, the apply path in-process and through the
// fleet, a backlog drain and end-to-end latency, everything local, on the issue's mixed load (80%
// deposits, 10% subscription updates, 10% invoice.paid, plus 5% duplicate deliveries). Every apply
// figure is also given as a share of the limit measured in the same run (this machine moves ±15%
// run to run). Prints tables and writes bench-results/bench-<time>.json.

const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const benchName = "billing_bench";
const ingestSeconds = 5;
const limitSeconds = 10;
const probeEvents = 20_000;
const applyEvents = 20_000;
const backlogEvents = 50_000;
const load = { accounts: 1000, subscriptions: 500, invoices: 500 };
// The backlog drain gets what is left of this (the outage run and the limit come after it).
const budgetMs = 300_000;

/** `count` distinct events of the mixed load; `prefix` keeps runs apart. */
function mixedLoad(prefix: string, count: number): BenchEvent[] {
  const make = mixedBenchEvents({ prefix, ...load });
  return Array.from({ length: count }, (_, i) => make(i));
}

let fleet: Fleet | undefined;

const step = (text: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${text}\n`);

async function main(): Promise<number> {
  const startedAt = Date.now();
  const wrk = wrkVersion();
  if (wrk === undefined) {
    console.error(
      "bench: wrk is not installed. It is the load generator (a C program, so it leaves the CPU to the ingester):\n" +
        "  apt-get install -y wrk",
    );
    return 1;
  }
  const stage = await setUpStage({ root, name: benchName, step });
  if (stage === undefined) return 1;
  fleet = stage.fleet;
  const { env, pool, secret, databaseUrl, logDir } = stage;
  const machine = await describeMachine(stage.postgresUrl, stage.amqpUrl, `wrk ${wrk}`);

  try {
    const script = workLimitScript(root);
    const deadlocksBefore = await deadlocks(pool);
    const limit = async (when: string): Promise<WorkLimit | undefined> => {
      if (script === undefined) return undefined;
      const measured = await measureWorkLimit(script, benchName, limitSeconds);
      step(
        `limit (${when}): ${Math.round(measured.eventsPerS)} events/s, Postgres alone (pgbench, full-work-limit.sh)`,
      );
      return measured;
    };
    if (script === undefined)
      step("limit: ../shared/bench/full-work-limit.sh not found; figures are not scaled");
    const limitStart = await limit("start");

    // Ingest: web alone; nothing consumes, the queue is purged between runs.
    const webPort = await freePort();
    const webUrl = `http://127.0.0.1:${webPort}`;
    const web = fleet.startProcfile("web", "web-ingest", { ...env, PORT: String(webPort) });
    await waitForReady(`${webUrl}/readyz`, web);
    const requests = join(logDir, "signed-webhooks.txt");
    await writeSignedRequests(requests, secret, 60_000, mixedBenchEvents({ prefix: "ingest", ...load }));
    step("ingest: warm-up (2 s, 10 connections)");
    await runWrk({ url: webUrl, file: requests, connections: 10, seconds: 2 });
    await purgeQueue(stage.amqpUrl);
    const ingest: BenchResults["ingest"][number][] = [];
    for (const connections of [1, 10, 50]) {
      const rss = sampleRss([web.pid]);
      const cpu = sampleCpu(new Map([[web.pid, "web"]]));
      const result: WrkResult = await runWrk({
        url: webUrl,
        file: requests,
        connections,
        seconds: ingestSeconds,
      });
      const webPeakRssMiB = Math.max(0, ...rss.stop().values());
      ingest.push({ ...result, webPeakRssMiB, cpu: cpu.stop() });
      step(
        `ingest: ${connections} connections → ${Math.round(result.acceptedPerS)} accepted/s, p99 ${result.p99Ms.toFixed(1)} ms`,
      );
      await purgeQueue(stage.amqpUrl);
    }
    await fleet.stop(web);

    // The apply path in-process: the production applyBatch, no broker, by events per transaction.
    const probes: BatchProbeResult[] = [];
    for (const batchSize of [50, 200, 500]) {
      await resetTables(pool);
      const events = mixedLoad(`b${batchSize}${Date.now().toString(36)}`, probeEvents);
      const result = await probeApply({ databaseUrl, events, batchSize, connections: 2 });
      probes.push(result);
      step(`in-process apply, ${batchSize} per transaction: ${Math.round(result.eventsPerS)} events/s`);
    }

    // Apply: workers alone, draining a pre-filled queue.
    const apply: ApplyResult[] = [];
    const run = async (
      workers: number,
      prefetch: number,
      batchSize: number,
      events: number,
      deadlineMs = Date.now() + 120_000,
    ) => {
      const list = mixedLoad(`a${apply.length}${Date.now().toString(36)}`, events);
      const result = await applyRun({
        fleet: fleet as Fleet,
        env,
        pool,
        amqpUrl: stage.amqpUrl,
        workers,
        prefetch,
        poolSize: 10,
        batchSize,
        events: list,
        duplicates: Math.round(events * 0.05),
        deadlineMs,
        partialAtTimeout: events === backlogEvents,
      });
      step(
        `apply: ${workers} worker(s), prefetch ${prefetch}, batch ${batchSize} → ${Math.round(result.eventsPerS)} events/s, exactly once ${result.exactlyOnce ? "kept" : `BROKEN (${result.exactlyOnceDetail})`}`,
      );
      return result;
    };
    // Batch sizes with 2 workers, prefetch 3 batches (two applying, one gathering); then 1 worker,
    // and the best batch size with less and more prefetch. Only settings whose workers stayed
    // under the RSS target are recommended (batch 500 applied ~20% faster at 152–171 MiB).
    for (const batchSize of [100, 250, 500]) apply.push(await run(2, batchSize * 3, batchSize, applyEvents));
    const batchSize =
      smallestNearBest(
        withinMemory(apply),
        (r) => r.batchSize,
        (r) => r.eventsPerS,
      )?.batchSize ?? 250;
    apply.push(await run(1, batchSize * 3, batchSize, applyEvents));
    for (const factor of [2, 5]) apply.push(await run(2, batchSize * factor, batchSize, applyEvents));
    const twoWorkers = apply.filter((r) => r.workers === 2 && r.batchSize === batchSize);
    const prefetch =
      smallestNearBest(
        withinMemory(twoWorkers),
        (r) => r.prefetch,
        (r) => r.eventsPerS,
      )?.prefetch ?? batchSize * 3;

    // End to end through the whole fleet at half the max ingest rate.
    const e2ePort = await freePort();
    const e2eUrl = `http://127.0.0.1:${e2ePort}`;
    const e2eWeb = fleet.startProcfile("web", "web-e2e", { ...env, PORT: String(e2ePort) });
    const tuned = {
      ...env,
      WORKER_PREFETCH: String(prefetch),
      WORKER_BATCH_SIZE: String(batchSize),
      METRICS_PORT: "0",
    };
    const workers = [1, 2].map((i) => (fleet as Fleet).startProcfile("worker", `e2e-worker-${i}`, tuned));
    const relay = fleet.startProcfile("relay", "e2e-relay", { ...env, METRICS_PORT: "0" });
    const labels = new Map<number, string>([
      [e2eWeb.pid, "web"],
      [relay.pid, "relay"],
      ...workers.map((w): [number, string] => [w.pid, "workers"]),
    ]);
    await waitForReady(`${e2eUrl}/readyz`, e2eWeb);
    const maxIngest = Math.max(0, ...ingest.map((r) => r.acceptedPerS));
    const maxApply = Math.max(0, ...apply.filter((r) => r.workers === 2).map((r) => r.eventsPerS));
    const endToEnd: BenchResults["endToEnd"][number][] = [];
    // The highest rate measured with end-to-end p99 within the target.
    let sustained: number | undefined;
    const e2e = async (rate: number, seconds: number, basis: string) => {
      const result: EndToEndResult = await endToEndRun({
        fleet: fleet as Fleet,
        pool,
        webUrl: e2eUrl,
        secret,
        rate,
        seconds,
        workers,
        labels,
        drainTimeoutMs: 30_000,
      });
      endToEnd.push({ ...result, basis });
      step(
        `end to end at ${rate}/s (${basis}): p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms`,
      );
    };
    const halfIngest = Math.max(10, Math.round(maxIngest / 2));
    const holds = async (rate: number, basis: string) => {
      await e2e(rate, 8, basis);
      return (endToEnd.at(-1)?.p99Ms ?? Infinity) <= targets.endToEndP99Ms;
    };
    // When the fleet (ingester, workers and relay on the same cores) cannot keep up with half the
    // ingest rate, the latency there is a growing queue. Then a quarter of the apply rate (halved
    // again, twice at most, while the p99 misses) shows the latency of a fleet that keeps up, and a
    // bisection between the two finds the highest rate that still holds the p99 target.
    if (!(await holds(halfIngest, "½ max ingest"))) {
      let low: number | undefined;
      let high = halfIngest;
      for (const [share, basis] of [
        [4, "¼ max apply"],
        [8, "⅛ max apply"],
        [16, "1/16 max apply"],
      ] as const) {
        const rate = Math.max(10, Math.round(maxApply / share));
        if (rate >= high) continue;
        if (await holds(rate, basis)) {
          low = rate;
          break;
        }
        high = rate;
      }
      if (low !== undefined) {
        let passing: number = low;
        for (let i = 0; i < 3; i += 1) {
          const rate: number = Math.round((passing + high) / 2 / 50) * 50;
          if (rate <= passing || rate >= high) break;
          if (await holds(rate, "bisection")) passing = rate;
          else high = rate;
        }
        sustained = passing;
      }
    } else sustained = halfIngest;
    for (const process of [...workers, e2eWeb, relay]) await fleet.stop(process);

    // Backlog drain, with what is left of the time budget (the limit at the end needs ~15 s).
    step(`backlog: publishing ${backlogEvents} events`);
    const backlog = await run(2, prefetch, batchSize, backlogEvents, startedAt + budgetMs - 20_000);
    await purgeQueue(stage.amqpUrl);

    // A 30 s database outage under steady load (half the fleet's apply rate), then the catch-up.
    const outageRate = Math.max(50, Math.round(maxApply / 2));
    step(`outage: ${outageRate} webhooks/s, PostgreSQL cut for 30 s under the workers and the relay`);
    const outage: OutageResult = await outageRun({
      fleet,
      env: { ...env, WORKER_PREFETCH: String(prefetch), WORKER_BATCH_SIZE: String(batchSize) },
      pool,
      secret,
      ratePerS: outageRate,
      outageSeconds: 30,
      warmSeconds: 5,
      afterSeconds: 5,
      workers: 2,
      drainTimeoutMs: 90_000,
      step,
    });

    const limitEnd = await limit("end");
    const deadlocksDuringRun = (await deadlocks(pool)) - deadlocksBefore;
    const measured = [limitStart, limitEnd].filter((l): l is WorkLimit => l !== undefined);
    const results: BenchResults = {
      command: "npm run bench",
      startedAt: new Date(startedAt).toISOString(),
      seconds: (Date.now() - startedAt) / 1000,
      machine,
      limit:
        measured.length === 0
          ? undefined
          : {
              start: limitStart?.eventsPerS,
              end: limitEnd?.eventsPerS,
              eventsPerS: measured.reduce((sum, l) => sum + l.eventsPerS, 0) / measured.length,
            },
      ingest,
      probes,
      apply,
      backlog,
      endToEnd,
      sustainedRate: sustained,
      outage,
      deadlocks: deadlocksDuringRun,
      recommendation: { prefetch, batchSize },
    };
    mkdirSync(join(root, "bench-results"), { recursive: true });
    const file = join(
      root,
      "bench-results",
      `bench-${new Date(startedAt).toISOString().replace(/[:.]/g, "-")}.json`,
    );
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\n${renderReport(results)}\n\nWritten: ${file} (${results.seconds.toFixed(0)} s)`);
    return 0;
  } finally {
    await pool.end();
  }
}

runFleetMain({
  name: "bench",
  main,
  fleet: () => fleet,
});
