import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createFleet, endLeftovers, type Fleet } from "../fleet-runner/fleet.ts";
import { freePort } from "../fleet-runner/free-port.ts";
import { findLocalServices, ServiceUnreachable } from "../fleet-runner/local-services.ts";
import { runFleetMain } from "../fleet-runner/run-main.ts";
import { recreateDatabase } from "../fleet-runner/scratch-database.ts";
import { recreateVhost } from "../fleet-runner/scratch-vhost.ts";
import { waitForReady } from "../fleet-runner/wait.ts";
import { type BatchProbeResult, probeApply } from "./apply-probe.ts";
import { type ApplyResult, applyRun } from "./apply-run.ts";
import { resetTables } from "./bench-db.ts";
import { sampleCpu } from "./cpu-sampler.ts";
import { type EndToEndResult, endToEndRun } from "./e2e-run.ts";
import { describeMachine } from "./machine.ts";
import { purgeQueue } from "./prefill.ts";
import { type BenchResults, renderReport, smallestNearBest } from "./report.ts";
import { sampleRss } from "./rss-sampler.ts";
import { benchEvents } from "./signed-events.ts";
import { runWrk, type WrkResult, writeSignedRequests, wrkVersion } from "./wrk.ts";

// `npm run bench`: ingest, apply, backlog drain and end-to-end latency of the fleet on this
// machine, everything local. Prints tables and writes bench-results/bench-<time>.json.

const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const benchName = "billing_bench";
const ingestSeconds = 6;
const applyEvents = 3000;
const backlogEvents = 50_000;
const accounts = 1000;
// The whole run stays under 5 minutes: the backlog drain, last, gets what is left of this.
const budgetMs = 265_000;

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
  let services: Awaited<ReturnType<typeof findLocalServices>>;
  try {
    services = await findLocalServices(process.env);
  } catch (error) {
    if (error instanceof ServiceUnreachable) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
  const databaseUrl = await recreateDatabase(services.postgresUrl, benchName);
  const vhost = await recreateVhost(services.amqpUrl, benchName, [5000, 30000, 120000, 600000, 1800000]);
  const machine = await describeMachine(services.postgresUrl, vhost.url, `wrk ${wrk}`);
  const logDir = mkdtempSync(join(tmpdir(), "billing-bench-"));
  const pidFile = join(tmpdir(), "billing-bench.pids");
  endLeftovers(pidFile, root);
  fleet = createFleet({ root, logDir, pidFile });
  step(`database ${benchName}, vhost ${benchName} (${vhost.how}); logs in ${logDir}`);

  const secret = `whsec_bench_${randomBytes(16).toString("hex")}`;
  const env = {
    DATABASE_URL: databaseUrl,
    AMQP_URL: vhost.url,
    STRIPE_SECRET_KEY: "sk_test_bench",
    STRIPE_WEBHOOK_SECRET: secret,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  };
  await fleet.runProcfile("release", "release", env, 60_000);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  pool.on("error", () => {});

  try {
    // Ingest: web alone; nothing consumes, the queue is purged between runs.
    const webPort = await freePort();
    const webUrl = `http://127.0.0.1:${webPort}`;
    const web = fleet.startProcfile("web", "web-ingest", { ...env, PORT: String(webPort) });
    await waitForReady(`${webUrl}/readyz`, web);
    const requests = join(logDir, "signed-webhooks.txt");
    await writeSignedRequests(requests, secret, 60_000, benchEvents({ prefix: "ingest", accounts }));
    step("ingest: warm-up (2 s, 10 connections)");
    await runWrk({ url: webUrl, file: requests, connections: 10, seconds: 2 });
    await purgeQueue(vhost.url);
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
      await purgeQueue(vhost.url);
    }
    await fleet.stop(web);

    // Apply: workers alone, draining a pre-filled queue.
    const apply: ApplyResult[] = [];
    const run = async (
      workers: number,
      prefetch: number,
      poolSize: number,
      batchSize: number,
      events: number,
      deadlineMs = Date.now() + 120_000,
    ) => {
      const make = benchEvents({ prefix: `a${apply.length}${Date.now().toString(36)}`, accounts });
      const list = Array.from({ length: events }, (_, i) => make(i));
      const result = await applyRun({
        fleet: fleet as Fleet,
        env,
        pool,
        amqpUrl: vhost.url,
        workers,
        prefetch,
        poolSize,
        batchSize,
        events: list,
        duplicates: Math.round(events * 0.05),
        deadlineMs,
        partialAtTimeout: events === backlogEvents,
      });
      step(
        `apply: ${workers} worker(s), prefetch ${prefetch}, pool ${poolSize}, batch ${batchSize} → ${Math.round(result.eventsPerS)} events/s, exactly once ${result.exactlyOnce ? "kept" : `BROKEN (${result.exactlyOnceDetail})`}`,
      );
      return result;
    };
    // One transaction per event, then batches of up to 10, with 1 and 2 workers.
    for (const batchSize of [1, 10]) {
      for (const workers of [1, 2]) apply.push(await run(workers, 50, 10, batchSize, applyEvents));
    }
    for (const prefetch of [10, 200]) apply.push(await run(2, prefetch, 10, 10, applyEvents));
    const twoWorkers = apply.filter((r) => r.workers === 2);
    const prefetch =
      smallestNearBest(
        twoWorkers.filter((r) => r.batchSize === 10),
        (r) => r.prefetch,
        (r) => r.eventsPerS,
      )?.prefetch ?? 50;
    apply.push(await run(2, Math.max(prefetch, 50), 10, 25, applyEvents));
    const batchSize =
      smallestNearBest(
        apply.filter((r) => r.workers === 2 && r.poolSize === 10 && r.batchSize > 1),
        (r) => r.batchSize,
        (r) => r.eventsPerS,
      )?.batchSize ?? 10;
    for (const poolSize of [4, 20]) apply.push(await run(2, prefetch, poolSize, batchSize, applyEvents));
    const pools = apply.filter(
      (r) => r.workers === 2 && r.prefetch === prefetch && r.batchSize === batchSize,
    );
    const poolSize =
      smallestNearBest(
        pools,
        (r) => r.poolSize,
        (r) => r.eventsPerS,
      )?.poolSize ?? 10;

    // One transaction per event against a batch per transaction, Postgres alone.
    const handlerBatches: BatchProbeResult[] = [];
    for (const batchSize of [1, 10, 50]) {
      await resetTables(pool);
      const make = benchEvents({ prefix: `b${batchSize}${Date.now().toString(36)}`, accounts });
      const events = Array.from({ length: 800 }, (_, i) => make(i));
      const result = await probeApply({ databaseUrl, events, batchSize, connections: 4 });
      handlerBatches.push(result);
      step(`transaction size ${batchSize}: ${Math.round(result.eventsPerS)} events/s (handler in-process)`);
    }

    // End to end through the whole fleet at half the max ingest rate.
    const e2ePort = await freePort();
    const e2eUrl = `http://127.0.0.1:${e2ePort}`;
    const e2eWeb = fleet.startProcfile("web", "web-e2e", { ...env, PORT: String(e2ePort) });
    const tuned = {
      ...env,
      WORKER_PREFETCH: String(prefetch),
      PG_POOL_SIZE: String(poolSize),
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
    const maxApply = Math.max(0, ...twoWorkers.map((r) => r.eventsPerS));
    const endToEnd: BenchResults["endToEnd"][number][] = [];
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
    // Short: when the workers are slower than this, every second of it is a backlog to drain.
    await e2e(Math.max(10, Math.round(maxIngest / 2)), 2, "½ max ingest");
    // When the workers cannot keep up with half the ingest rate, the latency above is a growing
    // queue; half the apply rate shows the latency of a fleet that keeps up.
    if (maxApply < maxIngest / 2) await e2e(Math.max(10, Math.round(maxApply / 2)), 8, "½ max apply");

    for (const process of [...workers, e2eWeb, relay]) await fleet.stop(process);

    // Backlog drain, with what is left of the time budget.
    step(`backlog: publishing ${backlogEvents} events`);
    const backlog = await run(2, prefetch, poolSize, batchSize, backlogEvents, startedAt + budgetMs);
    await purgeQueue(vhost.url);

    const fleetRate = (size: number) =>
      apply.find((r) => r.workers === 2 && r.prefetch === 50 && r.poolSize === 10 && r.batchSize === size)
        ?.eventsPerS ?? 0;
    const results: BenchResults = {
      command: "npm run bench",
      startedAt: new Date(startedAt).toISOString(),
      seconds: (Date.now() - startedAt) / 1000,
      machine,
      ingest,
      apply,
      handlerBatches,
      backlog,
      endToEnd,
      recommendation: {
        prefetch,
        poolSize,
        batchSize,
        batching: batchingVerdict(fleetRate(1), fleetRate(10), handlerBatches),
      },
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

/** Batches against one transaction per event, in the fleet and in Postgres alone. */
function batchingVerdict(single: number, batched: number, alone: readonly BatchProbeResult[]): string {
  const inPostgres = alone.map((r) => `${r.batchSize}: ${Math.round(r.eventsPerS)}/s`).join(", ");
  const gain = single > 0 ? batched / single : 0;
  return `2 workers, prefetch 50: ${Math.round(batched)} events/s with batches of up to 10 against ${Math.round(single)}/s one per transaction (${gain.toFixed(1)}×); the handler alone in Postgres by events per transaction: ${inPostgres}`;
}

runFleetMain({
  name: "bench",
  main,
  fleet: () => fleet,
});
