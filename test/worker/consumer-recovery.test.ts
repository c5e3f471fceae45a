import amqplib, { type GetMessage } from "amqplib";
import { afterAll, beforeAll, expect, it } from "vitest";
import { deliveryLimit, names } from "../../lib/amqp/topology.ts";
import { TransientError } from "../../lib/domain/errors.ts";
import type { Appliers } from "../../lib/worker/applied-settlement.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { spawnScript } from "../helpers/spawn.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";
import { rawClient, startTestConsumer, webhook } from "./consumer-fixtures.ts";
import { createEffectsTable, effectCounts, failing, recordEffect } from "./test-appliers.ts";

// What happens around the consumer rather than in it: a crash or a lost channel between the commit
// and the ack (a harmless redelivery, never a second effect, never an ack on the wrong channel),
// and a broker that loses the vhost entirely (consuming resumes by itself).

const ladder = [50, 100];
let database: TestDatabase;
let vhost: TestVhost;

beforeAll(async () => {
  database = await createTestDatabase();
  await createEffectsTable(database.db);
  vhost = testVhost();
  await vhost.create();
});
afterAll(async () => {
  await database?.drop();
  await vhost?.delete();
});

async function effects(id: string): Promise<number> {
  return (await effectCounts(database.db)).get(id) ?? 0;
}

async function publish(id: string): Promise<void> {
  const client = await rawClient(vhost.url);
  try {
    const event = webhook(id);
    await client.publish("stripe.test.effect", event.body, event.options);
  } finally {
    await client.close();
  }
}

// The worker process is killed (SIGKILL) after its commit and before its ack: RabbitMQ redelivers
// the message to the next worker, whose inbox check turns it into an acked duplicate.
it("absorbs a worker process killed between commit and ack", async () => {
  const child = spawnScript("test/worker/crash-after-commit.ts", {
    DATABASE_URL: database.url,
    AMQP_URL: vhost.url,
  });
  // a cold tsx start on a loaded machine can take a while
  await child.waitForOutput("consuming billing_queue", 20_000);
  await publish("evt_crash-1");
  expect(await child.exited).toBe("SIGKILL");
  expect(child.output()).toContain("committed; dying before the ack");
  expect(await effects("evt_crash-1")).toBe(1);

  const next = await startTestConsumer(vhost.url, database.db, recordEffect, { ladder });
  try {
    await waitFor(() => next.consumer.outcomes().duplicate === 1, "the redelivery absorbed as a duplicate");
    expect(await effects("evt_crash-1")).toBe(1);
    expect(next.consumer.outcomes().applied).toBe(0);
  } finally {
    await next.stop();
  }
});

// The channel dies after the commit (here: the connection is closed under the consumer). The
// delivery is not acked (its tag would kill the new channel) and is redelivered after the
// reconnect, where it is a duplicate; consuming resumed without help.
it("never acks a delivery whose channel closed, and the redelivery is a duplicate", async () => {
  let reconnected = false;
  let test: Awaited<ReturnType<typeof startTestConsumer>> | undefined;
  const wrap = (appliers: Appliers): Appliers => ({
    ...appliers,
    events: async (messages) => {
      const outcomes = await appliers.events(messages);
      if (!reconnected && test !== undefined) {
        reconnected = true;
        const closed = new Promise((resolve) => test?.broker.once("disconnect", resolve));
        test.broker.reconnect();
        await closed;
      }
      return outcomes;
    },
  });
  test = await startTestConsumer(vhost.url, database.db, recordEffect, { ladder, wrap });
  try {
    await publish("evt_lost-ack-1");
    await waitFor(() => {
      const outcomes = test?.consumer.outcomes();
      return outcomes?.duplicate === 1 && outcomes.abandoned === 1;
    }, "left unacked, then redelivered after the reconnect");
    // committed but left unacked (abandoned), then absorbed
    expect(test.consumer.outcomes()).toMatchObject({ applied: 0, abandoned: 1, duplicate: 1 });
    expect(await effects("evt_lost-ack-1")).toBe(1);
    // the consumer is back and keeps working
    await publish("evt_lost-ack-2");
    await waitFor(async () => (await effects("evt_lost-ack-2")) === 1, "a new message applied");
  } finally {
    await test.stop();
  }
});

// The broker loses everything (the vhost is deleted with its queues and connections) and comes
// back empty: the consumer reconnects, declares the topology again and consumes by itself.
it("resumes consuming after the vhost is deleted and re-created", async () => {
  const test = await startTestConsumer(vhost.url, database.db, recordEffect, { ladder });
  try {
    await publish("evt_vhost-1");
    await waitFor(async () => (await effects("evt_vhost-1")) === 1, "applied before the loss");

    await vhost.delete();
    await waitFor(() => !test.consumer.isReady(), "the consumer noticing the loss");
    await vhost.create();
    await waitFor(() => test.consumer.isReady(), "the consumer consuming again", 15_000);

    // the exchange, queue and binding are back: the publish routes and is applied
    await publish("evt_vhost-2");
    await waitFor(async () => (await effects("evt_vhost-2")) === 1, "applied after the vhost came back");
  } finally {
    await test.stop();
  }
});

// A failure whose retry copy cannot be published (here: its retry queue was deleted, so the copy is
// unroutable) is never acked: it is requeued, and the queue's delivery limit ends the loop by
// dead-lettering it (x-death delivery_limit), so nothing is lost and nothing spins forever.
it("requeues a failure it cannot park, bounded by the delivery limit", async () => {
  const handler = failing(1000, () => new TransientError("stripe_unavailable", "Stripe answered 503"));
  const test = await startTestConsumer(vhost.url, database.db, handler, { ladder: [75] });
  const client = await rawClient(vhost.url);
  try {
    const raw = await amqplib.connect(vhost.url);
    await (await raw.createChannel()).deleteQueue("billing_queue.retry.75");
    await raw.close();
    await publish("evt_unparkable-1");
    let letter: GetMessage | undefined;
    await waitFor(async () => {
      letter = (await client.drain(names.dlq)).find((m) => m.properties.messageId === "evt_unparkable-1");
      return letter !== undefined;
    }, "dead-lettered by the delivery limit");
    expect(test.consumer.outcomes().requeued).toBe(deliveryLimit + 1);
    expect(test.consumer.outcomes().retried).toBe(0);
    const deaths = letter?.properties.headers?.["x-death"] as Array<{ reason: string }>;
    expect(deaths[0]?.reason).toBe("delivery_limit");
    expect(await effects("evt_unparkable-1")).toBe(0);
  } finally {
    await client.close();
    await test.stop();
  }
});
