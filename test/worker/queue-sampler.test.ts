import { afterAll, beforeAll, expect, it } from "vitest";
import { type Broker, connectBroker } from "../../lib/amqp/connection.ts";
import { names } from "../../lib/amqp/topology.ts";
import { createDb } from "../../lib/db/database.ts";
import { databaseUp, queueConsumers, queueDepth } from "../../lib/metrics/registry.ts";
import { startQueueSampler } from "../../lib/worker/queue-sampler.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";
import { rawClient, webhook } from "./consumer-fixtures.ts";
import { log } from "./test-appliers.ts";

// The gauges the alerts read: a backlog in billing_queue, dead letters waiting in the DLQ, and a
// database that stops answering must all show up within a few samples.

let database: TestDatabase;
let vhost: TestVhost;
let broker: Broker;

beforeAll(async () => {
  database = await createTestDatabase();
  vhost = testVhost();
  await vhost.create();
  broker = connectBroker(vhost.url, { log, name: "sampler-test" });
});
afterAll(async () => {
  await broker?.close();
  await database?.drop();
  await vhost?.delete();
});

async function gauge(metric: typeof queueDepth | typeof databaseUp, labels: Record<string, string> = {}) {
  const { values } = await metric.get();
  return values.find((v) =>
    Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val),
  )?.value;
}

it("samples queue depth and consumers, and whether the database answers", async () => {
  const sampler = startQueueSampler(
    { broker, db: database.db, log },
    { intervalMs: 50, retryDelaysMs: [50] },
  );
  const client = await rawClient(vhost.url);
  try {
    // a first sample means the topology is declared: publishes now route
    await waitFor(async () => (await gauge(queueDepth, { queue: names.queue })) === 0, "a first sample");
    for (let i = 0; i < 3; i++) {
      const event = webhook(`evt_depth_${i}`);
      await client.publish("stripe.invoice.paid", event.body, event.options);
    }
    await client.publish("stripe.invoice.paid", "{}", { messageId: "dead" }, names.dlx);
    await waitFor(
      async () => (await gauge(queueDepth, { queue: names.queue })) === 3,
      "billing_queue depth 3",
    );
    await waitFor(async () => (await gauge(queueDepth, { queue: names.dlq })) === 1, "DLQ depth 1");
    expect(await gauge(queueConsumers, { queue: names.queue })).toBe(0);
    await waitFor(async () => (await gauge(databaseUp)) === 1, "database up");
  } finally {
    await client.close();
    await sampler.stop();
  }

  // a database that does not answer reads as down
  const gone = createDb({ url: database.url.replace(/\/[^/]+$/, "/bft_missing_database"), poolSize: 1 });
  const blind = startQueueSampler({ broker, db: gone, log }, { intervalMs: 50, retryDelaysMs: [50] });
  try {
    await waitFor(async () => (await gauge(databaseUp)) === 0, "database down");
  } finally {
    await blind.stop();
    await gone.destroy();
  }
});
