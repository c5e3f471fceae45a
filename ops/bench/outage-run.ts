import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { connectFirstNode } from "../../lib/amqp/connect-first-node.ts";
import { names } from "../../lib/amqp/topology.ts";
import { parsePrometheusText, sumSamples } from "../../lib/ops/prometheus-text.ts";
import type { Fleet, FleetProcess } from "../fleet-runner/fleet.ts";
import { logTail } from "../fleet-runner/fleet.ts";
import { freePort } from "../fleet-runner/free-port.ts";
import { waitForReady } from "../fleet-runner/wait.ts";
import { appliedCount, exactlyOnce, resetTables } from "./bench-db.ts";
import { type AppliedSample, catchUp } from "./catch-up.ts";
import { startCutProxy, throughCutProxy } from "./cut-proxy.ts";
import type { PacedResult } from "./paced-sender.ts";
import { pacedLoad } from "./signed-events.ts";

// The outage part of the bench: a steady stream of signed webhooks through the ingester while the
// workers and the relay lose PostgreSQL for `outageSeconds` (a proxy between them and the server
// is cut: the machine's PostgreSQL is never stopped), then the catch-up once it is back. Reports
// the backlog, how long and how fast the fleet caught up, how long the workers said 503, and that
// nothing was parked and everything was applied exactly once.

export interface OutageRunOptions {
  readonly fleet: Fleet;
  /** The fleet's environment (DATABASE_URL, AMQP_URL, STRIPE_*); the workers and relay get DATABASE_URL through the proxy. */
  readonly env: Readonly<Record<string, string>>;
  /** A pool straight to the bench database, never through the proxy. */
  readonly pool: pg.Pool;
  /** The ingester's webhook secret (one of STRIPE_WEBHOOK_SECRET). */
  readonly secret: string;
  readonly ratePerS: number;
  /** How long the database is away (the bench's figure: 30). */
  readonly outageSeconds: number;
  /** Steady load before the outage. */
  readonly warmSeconds: number;
  /** Steady load after the database is back. */
  readonly afterSeconds: number;
  readonly workers: number;
  /** How long to wait, once the sender is done, for the last webhook to be applied. */
  readonly drainTimeoutMs: number;
  readonly accounts?: number;
  /** Progress lines, e.g. the bench's step(). */
  readonly step?: (text: string) => void;
}

export interface OutageResult {
  readonly ratePerS: number;
  readonly outageSeconds: number;
  readonly workers: number;
  readonly sent: number;
  readonly accepted: number;
  /** Webhooks the ingester did not accept (it needs no database: 0 expected). */
  readonly refused: number;
  readonly backlogAtRestore: number;
  readonly catchUpSeconds: number | null;
  /** Events applied per second while catching up (backlog plus the continuing load). */
  readonly catchUpEventsPerS: number | null;
  /** Backlog / catch-up time: how fast the lag shrank. */
  readonly backlogDrainPerS: number | null;
  /** How long a worker's /readyz answered 503 (the database gate closed). */
  readonly notReadySeconds: number;
  /** Messages the workers gave back to the queue during the outage (no attempt spent). */
  readonly returned: number;
  /** Messages sent to the retry ladder or parked because of the outage: 0 expected. */
  readonly retriedForOutage: number;
  /** Dead letters (archived or still in the DLQ): 0 expected. */
  readonly parked: number;
  readonly exactlyOnce: boolean;
  readonly exactlyOnceDetail: string;
}

/** Runs the outage scenario on `options.fleet` and stops what it started. */
export async function outageRun(options: OutageRunOptions): Promise<OutageResult> {
  const { fleet, env, pool } = options;
  const step = options.step ?? (() => {});
  await resetTables(pool);
  const database = new URL(env.DATABASE_URL ?? "");
  const proxy = await startCutProxy({ host: database.hostname, port: Number(database.port || 5432) });
  const viaProxy = throughCutProxy(env.DATABASE_URL ?? "", proxy);
  const started: FleetProcess[] = [];
  try {
    const webPort = await freePort();
    const web = fleet.startProcfile("web", "outage-web", {
      ...env,
      PORT: String(webPort),
      METRICS_PORT: "0",
    });
    started.push(web);
    await waitForReady(`http://127.0.0.1:${webPort}/readyz`, web);
    const workerPorts: number[] = [];
    for (let i = 1; i <= options.workers; i++) {
      const port = await freePort();
      workerPorts.push(port);
      const worker = fleet.startProcfile("worker", `outage-worker-${i}`, {
        ...env,
        DATABASE_URL: viaProxy,
        METRICS_PORT: String(port),
      });
      started.push(worker);
      await waitForReady(`http://127.0.0.1:${port}/readyz`, worker);
    }
    started.push(
      fleet.startProcfile("relay", "outage-relay", { ...env, DATABASE_URL: viaProxy, METRICS_PORT: "0" }),
    );

    const prefix = `outage${Date.now().toString(36)}`;
    const accounts = options.accounts ?? 1000;
    // the sender's own start-up (a few seconds) comes out of the load after the outage
    const seconds = options.warmSeconds + options.outageSeconds + options.afterSeconds + 5;
    const out = join(fleet.logDir, "outage-sender.json");
    const sender = fleet.startScript(
      "ops/bench/paced-sender.ts",
      [
        ...["--url", `http://127.0.0.1:${webPort}/webhooks/stripe`, "--secret", options.secret],
        ...["--rate", String(options.ratePerS), "--seconds", String(seconds), "--out", out],
        ...["--accounts", String(accounts), "--prefix", prefix],
      ],
      "outage-sender",
      {},
    );
    started.push(sender);
    step(
      `outage: ${options.ratePerS} webhooks/s for ${seconds} s; the database goes away after ${options.warmSeconds} s for ${options.outageSeconds} s`,
    );

    const samples: AppliedSample[] = [];
    let notReadyMs = 0;
    let sampling = true;
    const sampler = (async () => {
      let last = Date.now();
      while (sampling) {
        const at = Date.now();
        samples.push([at, await appliedCount(pool)]);
        const ready = await Promise.all(workerPorts.map((port) => readyz(port)));
        if (ready.some((status) => status === 503)) notReadyMs += at - last;
        last = at;
        await sleep(250);
      }
    })();

    // the steady state first: the sender (its own process) is up and webhooks are being applied
    while ((samples.at(-1)?.[1] ?? 0) === 0) {
      if (sender.hasExited()) throw new Error(`the outage sender exited early:\n${logTail(sender.logFile)}`);
      await sleep(100);
    }
    await sleep(options.warmSeconds * 1000);
    await proxy.cut();
    step("outage: database cut");
    await sleep(options.outageSeconds * 1000);
    await proxy.restore();
    const restoredAt = Date.now();
    step("outage: database back");

    const code = await sender.exited;
    if (code !== 0) throw new Error(`the outage sender exited ${code}:\n${logTail(sender.logFile)}`);
    const records = (JSON.parse(readFileSync(out, "utf8")) as PacedResult).records;
    const accepted = records.filter(([, , status]) => status === 200);
    const deadline = Date.now() + options.drainTimeoutMs;
    while (Date.now() < deadline && (samples.at(-1)?.[1] ?? 0) < accepted.length) await sleep(250);
    sampling = false;
    await sampler;

    const figures = catchUp(
      accepted.map(([, sentAt, , ms]) => sentAt + ms),
      samples,
      restoredAt,
    );
    const metrics = parsePrometheusText(
      (await Promise.all(workerPorts.map((port) => metricsText(port)))).join("\n"),
    );
    const once = await exactlyOnce(pool);
    // the sender's load, regenerated by index: which events were deposits, and their amounts
    const make = pacedLoad({ prefix, accounts });
    const distinctIds = [...new Set(accepted.map(([id]) => id))];
    const deposits = distinctIds.map((id) => make(Number(id.split("_").at(-1)))).filter((e) => e.amount > 0);
    const amounts = deposits.reduce((sum, e) => sum + e.amount, 0);
    const distinct = distinctIds.length;
    const exact =
      once.stripeEvents === distinct &&
      once.processedMessages === distinct &&
      once.depositCredits === deposits.length &&
      once.creditedEvents === deposits.length &&
      once.balanceTotal === amounts;
    const result: OutageResult = {
      ratePerS: options.ratePerS,
      outageSeconds: options.outageSeconds,
      workers: options.workers,
      sent: records.length,
      accepted: accepted.length,
      refused: records.length - accepted.length,
      backlogAtRestore: figures.backlogAtRestore,
      catchUpSeconds: figures.catchUpSeconds ?? null,
      catchUpEventsPerS: figures.catchUpEventsPerS ?? null,
      backlogDrainPerS: figures.backlogDrainPerS ?? null,
      notReadySeconds: notReadyMs / 1000,
      returned: sumSamples(metrics, "billing_messages_returned_total"),
      retriedForOutage:
        sumSamples(metrics, "billing_messages_retried_total", { code: "database_unavailable" }) +
        sumSamples(metrics, "billing_messages_dead_lettered_total", { code: "database_unavailable" }),
      parked: (await deadLetters(pool)) + (await dlqDepth(env.AMQP_URL ?? "")),
      exactlyOnce: exact,
      exactlyOnceDetail: `${distinct} accepted (${deposits.length} deposits), ${once.stripeEvents} audited, ${once.processedMessages} in the inbox, ${once.depositCredits} credits, balances ${once.balanceTotal} of ${amounts}`,
    };
    step(`outage: ${describeOutage(result)}`);
    return result;
  } finally {
    for (const process of started.reverse()) await fleet.stop(process);
    await proxy.close();
  }
}

/** One line for the bench's output. */
export function describeOutage(result: OutageResult): string {
  const rate = (value: number | null) => (value === null ? "never" : `${Math.round(value)}/s`);
  return (
    `${result.outageSeconds} s database outage at ${result.ratePerS} webhooks/s, ${result.workers} worker(s): ` +
    `backlog ${result.backlogAtRestore} at restore, caught up in ${result.catchUpSeconds === null ? "—" : `${result.catchUpSeconds.toFixed(1)} s`} ` +
    `(applying ${rate(result.catchUpEventsPerS)}, backlog shrinking ${rate(result.backlogDrainPerS)}); ` +
    `/readyz 503 for ${result.notReadySeconds.toFixed(1)} s; ${result.returned} given back, ` +
    `${result.retriedForOutage} retried or parked for the outage, ${result.parked} dead letters; ` +
    `exactly once ${result.exactlyOnce ? "kept" : `BROKEN (${result.exactlyOnceDetail})`}`
  );
}

async function readyz(port: number): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0;
  }
}

async function metricsText(port: number): Promise<string> {
  try {
    return await (
      await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })
    ).text();
  } catch {
    return "";
  }
}

async function deadLetters(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>("SELECT count(*)::text AS n FROM billing.dead_letters");
  return Number(rows[0]?.n ?? 0);
}

async function dlqDepth(amqpUrl: string): Promise<number> {
  const connection = await connectFirstNode(amqpUrl, { timeoutMs: 5000 });
  connection.on("error", () => {});
  try {
    const channel = await connection.createChannel();
    const { messageCount } = await channel.checkQueue(names.dlq);
    await channel.close();
    return messageCount;
  } finally {
    await connection.close();
  }
}
