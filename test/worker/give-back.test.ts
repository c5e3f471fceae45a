import type { GetMessage } from "amqplib";
import { afterAll, beforeAll, expect, it } from "vitest";
import { brokerUserOf } from "../../lib/amqp/broker-url.ts";
import { type Broker, connectBroker } from "../../lib/amqp/connection.ts";
import { maxReturns } from "../../lib/amqp/failure-copies.ts";
import { names } from "../../lib/amqp/topology.ts";
import { createDb, type Db } from "../../lib/db/database.ts";
import { createDatabaseGate, type DatabaseGate } from "../../lib/db/database-gate.ts";
import { type Consumer, startConsumer } from "../../lib/worker/consumer.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startPgProxy, throughPgProxy } from "../helpers/pg-proxy.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";
import type { TcpProxy } from "../relay/tcp-proxy.ts";
import { type RawClient, rawClient, webhook } from "./consumer-fixtures.ts";
import {
  createEffectsTable,
  effectAttempt,
  effectCounts,
  log,
  recordEffect,
  testAppliers,
} from "./test-appliers.ts";

// How the consumer gives a message back during a database outage: as a fresh copy to billing_queue
// with x-attempts unchanged (the message keeps its whole ladder) and x-returned counting, never as
// a requeue that the quorum queue would count towards x-delivery-limit. A message given back
// maxReturns times takes its next outage as its own failure, so one that brings the database down
// itself is not recycled forever.

const ladder = [50];
let database: TestDatabase;
let vhost: TestVhost;
let proxy: TcpProxy;
let db: Db;
let broker: Broker;
let gate: DatabaseGate;
let consumer: Consumer;
let client: RawClient;

beforeAll(async () => {
  database = await createTestDatabase();
  await createEffectsTable(database.db);
  vhost = testVhost();
  await vhost.create();
  proxy = await startPgProxy();
  db = createDb({ url: throughPgProxy(database.url, proxy), poolSize: 4 });
  broker = connectBroker(vhost.url, { log, name: "give-back-test" });
  gate = createDatabaseGate({ db, log, process: "give-back-test" }, { probeMinMs: 300, probeMaxMs: 300 });
  const appliers = testAppliers(db, recordEffect);
  consumer = startConsumer(
    {
      broker,
      log,
      appliers: {
        events: (messages) => gate.run(() => appliers.events(messages)),
        command: (message) => gate.run(() => appliers.command(message)),
      },
      gate,
    },
    {
      prefetch: 10,
      batchSize: 10,
      retryDelaysMs: ladder,
      publishTimeoutMs: 2000,
      publishers: { trusted: new Set([brokerUserOf(vhost.url)]), self: brokerUserOf(vhost.url) },
    },
  );
  await waitFor(() => consumer.isReady(), "consumer ready");
  client = await rawClient(vhost.url);
});
afterAll(async () => {
  await client?.close();
  await consumer?.stop();
  gate?.stop();
  await broker?.close();
  await db?.destroy();
  await proxy?.close();
  await database?.drop();
  await vhost?.delete();
});

it("gives a message back unspent while the database is down, and applies it at attempt 1 after", async () => {
  const event = webhook("evt_back");
  // a message already on its first retry: the outage must not take its next step
  await proxy.cut();
  await client.publish("stripe.test.effect", event.body, { ...event.options, headers: { "x-attempts": 1 } });
  await waitFor(() => consumer.outcomes().returned >= 1, "given back");
  expect(gate.isOpen()).toBe(false);
  expect(consumer.isReady()).toBe(false);
  expect(consumer.outcomes()).toMatchObject({ retried: 0, "dead-lettered": 0, requeued: 0 });

  // While paused the copy waits in billing_queue, as the worker left it.
  let copy: GetMessage | undefined;
  await waitFor(async () => {
    copy = (await client.drain(names.queue))[0];
    return copy !== undefined;
  }, "the copy in billing_queue");
  expect(copy?.properties.headers).toMatchObject({
    "x-attempts": 1,
    "x-returned": 1,
    "x-routing-key": "stripe.test.effect",
  });
  // a fresh message: the broker has counted no delivery of it
  expect(copy?.properties.headers?.["x-delivery-count"] ?? 0).toBe(0);
  // put it back as the worker left it, and let the database return
  await client.publish("billing_queue", copy?.content ?? "", copy?.properties ?? {}, "");
  await proxy.restore();
  await waitFor(
    async () => (await effectCounts(database.db)).get("evt_back") === 1,
    "applied after the outage",
  );
  expect(await effectAttempt(database.db, "evt_back")).toBe(1);
  await waitFor(() => consumer.isReady(), "consuming again");
});

it(`takes the outage as its own failure once it was given back ${maxReturns} times`, async () => {
  const event = webhook("evt_returned_often");
  await proxy.cut();
  const before = consumer.outcomes();
  await client.publish("stripe.test.effect", event.body, {
    ...event.options,
    headers: { "x-returned": maxReturns },
  });
  await waitFor(() => consumer.outcomes().retried > before.retried, "sent to the retry ladder");
  expect(consumer.outcomes().returned).toBe(before.returned);
  await proxy.restore();
  await waitFor(async () => (await effectCounts(database.db)).get("evt_returned_often") === 1, "applied");
  expect(await effectAttempt(database.db, "evt_returned_often")).toBe(1);
});
