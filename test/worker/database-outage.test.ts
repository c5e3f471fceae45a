import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { names, retryQueueName } from "../../lib/amqp/topology.ts";
import type { Running } from "../../lib/lifecycle.ts";
import { messagesDeadLettered, messagesRetried, messagesReturned } from "../../lib/metrics/registry.ts";
import { startWorker } from "../../workers/worker.ts";
import { capturedLog } from "../helpers/captured-log.ts";
import { testConfig } from "../helpers/config.ts";
import { freePort } from "../helpers/free-port.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { startPgProxy, throughPgProxy } from "../helpers/pg-proxy.ts";
import { pgAdminUrl } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait.ts";
import type { TcpProxy } from "../relay/tcp-proxy.ts";
import { metricValue, type RawClient, rawClient } from "./consumer-fixtures.ts";
import { type DepositEvent, depositEvent, expectedBalances } from "./deposit-events.ts";

// The acceptance of "a database outage parks nothing": the worker as its composition root wires it
// (real dispatch, real consumer, archiver, sampler, /readyz) reaches PostgreSQL through a proxy the
// test cuts for far longer than the whole retry ladder (200 + 400 ms). Nothing may be retried or
// dead-lettered for it, /readyz must say 503 meanwhile, and once the database is back every
// deposit is applied exactly once. Only a message's own failure (here: a malformed body) is parked.

const services = useTestServices();
const ladder = "200,400";
let proxy: TcpProxy;
let worker: Running | undefined;
let client: RawClient;
let metricsPort: number;
const captured = capturedLog("worker");

beforeAll(async () => {
  proxy = await startPgProxy();
  metricsPort = await freePort();
  const config = testConfig("worker", {
    databaseUrl: throughPgProxy(services.database.url, proxy),
    amqpUrl: services.vhost.url,
    RETRY_DELAYS_MS: ladder,
    METRICS_PORT: String(metricsPort),
    WORKER_PREFETCH: "20",
  });
  worker = await startWorker(config, captured.log);
  client = await rawClient(services.vhost.url);
  await waitFor(async () => (await readyz()) === 200, "worker ready", 15_000);
});
afterAll(async () => {
  await worker?.stop();
  await client?.close();
  await proxy?.close();
});

async function readyz(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined);
  return res?.status ?? 0;
}

async function publish(event: DepositEvent): Promise<void> {
  await client.publish("stripe.payment_intent.succeeded", event.body, {
    messageId: event.id,
    type: "payment_intent.succeeded",
    headers: { "x-source": "stripe" },
  });
}

/** Publishes `count` deposits at a steady pace, `perTick` every 50 ms, as webhooks arrive. */
async function stream(prefix: string, count: number, perTick = 10): Promise<DepositEvent[]> {
  const events = Array.from({ length: count }, (_, i) => depositEvent(prefix, i));
  for (let i = 0; i < events.length; i += perTick) {
    await Promise.all(events.slice(i, i + perTick).map(publish));
    await sleep(50);
  }
  return events;
}

const db = () => services.database.db;

async function applied(events: readonly DepositEvent[]): Promise<number> {
  const rows = await db()
    .selectFrom("processed_messages")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where(
      "message_id",
      "in",
      events.map((e) => `stripe:${e.id}`),
    )
    .executeTakeFirstOrThrow();
  return Number(rows.n);
}

/** Every deposit credited exactly once: one ledger entry each, balances equal to their sums. */
async function expectExactlyOnce(events: readonly DepositEvent[]): Promise<void> {
  expect(await applied(events)).toBe(events.length);
  const entries = await db()
    .selectFrom("ledger_entries")
    .select(["source_id"])
    .where("account_id", "in", [...new Set(events.map((e) => e.accountId))])
    .execute();
  expect(entries).toHaveLength(events.length);
  const balances = await db()
    .selectFrom("accounts")
    .select(["account_id", "balance"])
    .where("account_id", "in", [...new Set(events.map((e) => e.accountId))])
    .execute();
  expect(new Map(balances.map((b) => [b.account_id, b.balance]))).toEqual(expectedBalances(events));
}

const retriedForOutage = () => metricValue(messagesRetried, { code: "database_unavailable" });
const parkedForOutage = () => metricValue(messagesDeadLettered, { code: "database_unavailable" });
const returned = () => metricValue(messagesReturned, { type: "payment_intent.succeeded" });

it("parks nothing during an outage longer than the ladder, says 503, and applies everything once after", async () => {
  const warm = await stream("warm", 10);
  await waitFor(async () => (await applied(warm)) === warm.length, "warm deposits applied");
  const retriedBefore = await retriedForOutage();
  const pausesBefore = captured.lines("pausing").length;

  await proxy.cut();
  const during = stream("down", 120);
  // A message that is wrong in itself is parked at once, outage or not: its own failure.
  await client.publish("stripe.payment_intent.succeeded", '"not an event"', {
    messageId: "evt_malformed",
    type: "payment_intent.succeeded",
  });
  await waitFor(async () => (await readyz()) === 503, "/readyz 503 while the database is down");
  const events = await during;

  // Five times the whole ladder: without the gate every message would be parked as exhausted.
  await sleep(3000);
  expect(await readyz()).toBe(503);
  expect(await retriedForOutage()).toBe(retriedBefore);
  expect(await parkedForOutage()).toBe(0);
  for (const delay of [200, 400]) expect(await client.messageCount(retryQueueName(delay))).toBe(0);
  // the malformed one waits in the DLQ for the archiver, which takes nothing while the database is down
  expect(await client.messageCount(names.dlq)).toBe(1);
  expect(await client.messageCount(names.queue)).toBeGreaterThan(0);
  expect(await applied(events)).toBe(0);

  await proxy.restore();
  await waitFor(async () => (await applied(events)) === events.length, "every deposit applied", 30_000);
  await waitFor(async () => (await readyz()) === 200, "/readyz 200 again");
  await expectExactlyOnce([...warm, ...events]);
  expect(await retriedForOutage()).toBe(retriedBefore);
  expect(await parkedForOutage()).toBe(0);
  // what the worker held when the outage began went back once, not once per probe
  expect(await returned()).toBeLessThanOrEqual(events.length);

  await waitFor(async () => {
    const rows = await db().selectFrom("dead_letters").select(["message_id", "error_kind"]).execute();
    return rows.length === 1 && rows[0]?.message_id === "evt_malformed" && rows[0].error_kind === "permanent";
  }, "only the malformed message parked, archived once the database is back");

  // one line when the pause starts, one when it ends; none per message or per probe
  expect(captured.lines("pausing").length - pausesBefore).toBe(1);
  expect(captured.lines("resuming")).toHaveLength(captured.lines("pausing").length);
  expect(captured.lines("cannot insert a dead letter")).toEqual([]);
  expect(captured.lines("sent to the retry ladder")).toEqual([]);
});

// A failover to a read-only node: sessions end, the next ones can read but not write. Nothing is
// applied, nothing parked; after the failover back everything is applied once.
it("waits out a read-only failover the same way", async () => {
  const name = services.database.name;
  const admin = async (statement: string) => {
    const connection = new pg.Client({ connectionString: pgAdminUrl });
    await connection.connect();
    try {
      await connection.query(statement);
    } finally {
      await connection.end();
    }
  };
  const failover = async (readOnly: boolean) => {
    await admin(
      readOnly
        ? `ALTER DATABASE ${pg.escapeIdentifier(name)} SET default_transaction_read_only = on`
        : `ALTER DATABASE ${pg.escapeIdentifier(name)} RESET default_transaction_read_only`,
    );
    await admin(
      // the fleet's sessions end; the test's own pool (which reads the outcome) is left alone
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${pg.escapeLiteral(name)} AND pid <> pg_backend_pid() AND application_name <> 'billing-test'`,
    );
  };

  await failover(true);
  try {
    const events = await stream("ro", 40);
    await waitFor(async () => (await readyz()) === 503, "/readyz 503 on a read-only database");
    await sleep(1500);
    expect(await applied(events)).toBe(0);
    expect(await parkedForOutage()).toBe(0);

    await failover(false);
    await waitFor(async () => (await applied(events)) === events.length, "every deposit applied", 30_000);
    await expectExactlyOnce(events);
    await waitFor(async () => (await readyz()) === 200, "/readyz 200 again");
  } finally {
    await failover(false);
  }
});
