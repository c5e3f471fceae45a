import amqplib from "amqplib";
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Broker, connectBroker } from "../../lib/amqp/connection.ts";
import { deliveryLimit, names } from "../../lib/amqp/topology.ts";
import { createDb } from "../../lib/db/database.ts";
import { createDatabaseGate } from "../../lib/db/database-gate.ts";
import { PermanentError } from "../../lib/domain/errors.ts";
import { deadLettersArchived } from "../../lib/metrics/registry.ts";
import { type DlqArchiver, startDlqArchiver } from "../../lib/worker/dlq-archiver.ts";
import { capturedLog } from "../helpers/captured-log.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startPgProxy, throughPgProxy } from "../helpers/pg-proxy.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";
import { metricValue, type RawClient, rawClient, startTestConsumer, webhook } from "./consumer-fixtures.ts";
import { createEffectsTable, failing, log } from "./test-appliers.ts";

// Whatever reaches the DLQ ends in billing.dead_letters, whole (body, properties, headers) and
// once, so ops can see, group and replay it: dead letters parked by a worker, and those the broker
// parks itself when a delivery hits billing_queue's delivery limit.

const ladder = [50];
let database: TestDatabase;
let vhost: TestVhost;
let broker: Broker;
let archiver: DlqArchiver;
let client: RawClient;

beforeAll(async () => {
  database = await createTestDatabase();
  await createEffectsTable(database.db);
  vhost = testVhost();
  await vhost.create();
  broker = connectBroker(vhost.url, { log, name: "archiver-test" });
  archiver = startDlqArchiver({ broker, db: database.db, log }, { retryDelaysMs: ladder });
  await waitFor(() => archiver.isReady(), "archiver ready");
  client = await rawClient(vhost.url);
});
afterAll(async () => {
  await client?.close();
  await archiver?.stop();
  await broker?.close();
  await database?.drop();
  await vhost?.delete();
});

function letterOf(messageId: string) {
  return database.db.selectFrom("dead_letters").selectAll().where("message_id", "=", messageId).execute();
}

async function archivedOnce(messageId: string): Promise<Awaited<ReturnType<typeof letterOf>>[number]> {
  await waitFor(async () => (await letterOf(messageId)).length > 0, `dead letter ${messageId} archived`);
  const rows = await letterOf(messageId);
  expect(rows).toHaveLength(1);
  const [row] = rows;
  if (row === undefined) throw new Error("unreachable");
  return row;
}

// The acceptance path: a permanent error lands in the DLQ with the Contract's headers and then in
// dead_letters, parked, with the error, kind, attempts and time as columns.
it("archives a permanently failing message with its error, kind, attempts and failure time", async () => {
  const before = await metricValue(deadLettersArchived, {});
  const worker = await startTestConsumer(
    vhost.url,
    database.db,
    failing(100, () => new PermanentError("unknown_account", "no account acc_404")),
    { ladder },
  );
  try {
    const event = webhook("evt_permanent", "test.permanent");
    await client.publish("stripe.test.permanent", event.body, event.options);
    const row = await archivedOnce("evt_permanent");
    expect(row).toMatchObject({
      type: "test.permanent",
      exchange: names.exchange,
      routing_key: "stripe.test.permanent",
      error: "no account acc_404",
      error_kind: "permanent",
      attempts: 0,
      status: "parked",
    });
    expect(row.body.toString()).toBe(event.body);
    expect(row.headers).toMatchObject({
      "x-source": "stripe",
      "x-error": "no account acc_404",
      "x-error-kind": "permanent",
      "x-error-code": "unknown_account",
      "x-attempts": 0,
    });
    expect(row.headers["x-failed-at"]).toBe(row.failed_at.toISOString());
    expect(row.properties).toMatchObject({ messageId: "evt_permanent", contentType: "application/json" });
    expect(Date.now() - row.failed_at.getTime()).toBeLessThan(60_000);
    expect(await metricValue(deadLettersArchived, {})).toBe(before + 1);
    // acked only after the insert: nothing left in the DLQ
    await waitFor(async () => (await client.messageCount(names.dlq)) === 0, "DLQ empty");
  } finally {
    await worker.stop();
  }
});

// The DLQ is at-least-once: the same dead letter delivered twice is one row.
it("archives the same dead-lettering once", async () => {
  const headers = {
    "x-error": "bad",
    "x-error-kind": "permanent",
    "x-attempts": 0,
    "x-failed-at": "2025-01-01T00:00:00.000Z",
  };
  for (let i = 0; i < 2; i++) {
    await client.publish(
      "stripe.invoice.paid",
      '{"id":"evt_twice"}',
      { messageId: "evt_twice", headers },
      names.dlx,
    );
  }
  await waitFor(async () => (await client.messageCount(names.dlq)) === 0, "both copies taken");
  await waitFor(async () => (await letterOf("evt_twice")).length > 0, "archived");
  // the second copy's insert finds the fingerprint and inserts nothing
  await new Promise((r) => setTimeout(r, 300));
  expect(await letterOf("evt_twice")).toHaveLength(1);
});

// A message that crash-loops its workers (here: a raw consumer that keeps returning it) is parked
// by the broker's delivery limit with x-death and none of our headers. It is archived as
// "delivery-limit", with a text saying it may be an innocent neighbour, safe to replay.
it("archives a delivery-limit dead letter as delivery-limit", async () => {
  const event = webhook("evt_poison", "invoice.paid");
  await client.publish("stripe.invoice.paid", event.body, event.options);

  const connection = await amqplib.connect(vhost.url);
  let deliveries = 0;
  try {
    const channel = await connection.createChannel();
    await channel.consume(names.queue, (message) => {
      if (message === null) return;
      deliveries += 1;
      channel.nack(message, false, true);
    });
    const row = await archivedOnce("evt_poison");
    expect(deliveries).toBe(deliveryLimit + 1);
    expect(row).toMatchObject({
      error_kind: "delivery-limit",
      routing_key: "stripe.invoice.paid",
      type: "invoice.paid",
      status: "parked",
    });
    expect(row.error).toMatch(/crashed/);
    expect(row.error).toMatch(/innocent neighbour/);
    expect(row.error).toMatch(/safe to replay/);
    expect(row.headers).not.toHaveProperty("x-error-kind");
    expect(row.body.toString()).toBe(event.body);
  } finally {
    await connection.close();
  }
});

// A dead letter is never dropped: while Postgres refuses the insert, the message is held (not
// acked, not requeued) and the insert retried; once Postgres takes it, it is archived and acked.
it("holds a dead letter while Postgres refuses it, then archives it", async () => {
  await sql`ALTER TABLE billing.dead_letters ADD CONSTRAINT refuse_all CHECK (false) NOT VALID`.execute(
    database.db,
  );
  const headers = { "x-error": "x", "x-error-kind": "permanent", "x-failed-at": new Date().toISOString() };
  await client.publish("stripe.invoice.paid", "{}", { messageId: "evt_refused", headers }, names.dlx);
  await new Promise((r) => setTimeout(r, 400));
  expect(await letterOf("evt_refused")).toHaveLength(0);
  expect(await client.messageCount(names.dlq)).toBe(0); // taken and held, unacked

  await sql`ALTER TABLE billing.dead_letters DROP CONSTRAINT refuse_all`.execute(database.db);
  await archivedOnce("evt_refused");
  await waitFor(async () => (await client.messageCount(names.dlq)) === 0, "acked");
});

// While the database is down (the gate closed) the archiver takes nothing and gives back what it
// held, without one log line per attempt; once the gate's probe finds the database it archives
// everything, once each.
it("pauses on a database outage and archives the backlog once the database is back", async () => {
  const proxy = await startPgProxy();
  const db = createDb({ url: throughPgProxy(database.url, proxy), poolSize: 2 });
  const captured = capturedLog("archiver");
  const gate = createDatabaseGate({ db, log: captured.log, process: "archiver-test" }, { probeMinMs: 50 });
  const paused = startDlqArchiver(
    { broker, db, log: captured.log, gate },
    { retryDelaysMs: ladder, maxBackoffMs: 50 },
  );
  // the shared archiver of this file stands aside: only the gated one consumes the DLQ
  await archiver.stop();
  try {
    await waitFor(() => paused.isReady(), "gated archiver ready");
    await proxy.cut();
    const headers = { "x-error": "x", "x-error-kind": "permanent", "x-failed-at": new Date().toISOString() };
    const ids = Array.from({ length: 5 }, (_, i) => `evt_outage_${i}`);
    for (const id of ids)
      await client.publish("stripe.invoice.paid", "{}", { messageId: id, headers }, names.dlx);
    await waitFor(() => !gate.isOpen(), "the gate closed by a failed insert");
    await waitFor(() => !paused.isReady(), "the archiver stopped taking dead letters");
    await waitFor(
      async () => (await client.messageCount(names.dlq)) === ids.length,
      "dead letters back in the DLQ",
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(await client.messageCount(names.dlq)).toBe(ids.length);
    expect(captured.lines("cannot insert a dead letter")).toEqual([]);

    await proxy.restore();
    for (const id of ids) await archivedOnce(id);
    await waitFor(async () => (await client.messageCount(names.dlq)) === 0, "DLQ empty");
    expect(paused.isReady()).toBe(true);
    expect(captured.lines("pausing")).toHaveLength(1);
    expect(captured.lines("resuming")).toHaveLength(1);
  } finally {
    await paused.stop();
    gate.stop();
    await db.destroy();
    await proxy.close();
  }
});
