import amqplib from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Broker, connectBroker } from "../../lib/amqp/connection.ts";
import { createPublisher, type Publisher } from "../../lib/amqp/publisher.ts";
import { names, queueArguments } from "../../lib/amqp/topology.ts";
import { testLogger } from "../helpers/config.ts";
import { rabbitManagementUrl } from "../helpers/services.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";

const ladder = [50, 100];
let vhost: TestVhost;
let broker: Broker;
let publisher: Publisher;
const log = testLogger();

beforeAll(async () => {
  vhost = testVhost();
  await vhost.create();
  broker = connectBroker(vhost.url, { log, name: "publisher-test" });
  publisher = createPublisher(broker, { log, timeoutMs: 2000, retryDelaysMs: ladder });
  await waitFor(() => publisher.isReady(), "publisher ready");
});
afterAll(async () => {
  await publisher.close();
  await broker.close();
  await vhost.delete();
});

async function getOne(queue: string) {
  const connection = await amqplib.connect(vhost.url);
  try {
    const channel = await connection.createChannel();
    const message = await channel.get(queue, { noAck: true });
    await channel.close();
    return message === false ? undefined : message;
  } finally {
    await connection.close();
  }
}

describe("topology", () => {
  // The Contract's queues, with their arguments, exist as soon as a process connects.
  it("is declared on connect with the Contract's queues and arguments", async () => {
    const auth = `Basic ${Buffer.from("guest:guest").toString("base64")}`;
    const res = await fetch(`${rabbitManagementUrl}/api/queues/${encodeURIComponent(vhost.name)}`, {
      headers: { authorization: auth },
    }).catch(() => undefined);
    if (res === undefined) {
      // no management API: a passive check still proves the queues exist
      const connection = await amqplib.connect(vhost.url);
      const channel = await connection.createChannel();
      for (const queue of Object.keys(queueArguments(ladder))) await channel.checkQueue(queue);
      await connection.close();
      return;
    }
    const queues = (await res.json()) as { name: string; type: string; arguments: Record<string, unknown> }[];
    const byName = Object.fromEntries(queues.map((q) => [q.name, q]));
    for (const [queue, args] of Object.entries(queueArguments(ladder))) {
      expect(byName[queue]?.type).toBe("quorum");
      expect(byName[queue]?.arguments).toEqual(args);
    }
    expect(byName[names.queue]?.arguments["x-delivery-limit"]).toBeGreaterThan(0);
    expect(byName["billing_queue.retry.50"]?.arguments["x-message-ttl"]).toBe(50);
  });
});

describe("publisher", () => {
  // A publish resolves only once the broker holds the message, with every property intact.
  it("resolves after the confirm, and the message is on the bound queue", async () => {
    const body = Buffer.from('{"id":"evt_1"}');
    await publisher.publish(names.exchange, "stripe.invoice.paid", body, {
      messageId: "evt_1",
      type: "invoice.paid",
      contentType: "application/json",
      persistent: true,
      headers: { "x-source": "stripe" },
    });
    const message = await getOne(names.queue);
    expect(message?.content.equals(body)).toBe(true);
    expect(message?.fields.routingKey).toBe("stripe.invoice.paid");
    expect(message?.properties.messageId).toBe("evt_1");
    expect(message?.properties.deliveryMode).toBe(2);
  });

  // An unroutable message is confirmed by the broker but lost: it must count as a failure.
  it("rejects a message that no queue binds", async () => {
    await expect(
      publisher.publish(names.exchange, "nobody.listens", Buffer.from("{}"), { messageId: "m-unroutable" }),
    ).rejects.toMatchObject({ kind: "transient", code: "broker_unavailable" });
  });

  // billing.events may have no queue bound (other services bind their own): there an unroutable
  // message is confirmed and counts as published.
  it("resolves an unroutable message when mandatory is off", async () => {
    const lenient = createPublisher(broker, {
      log,
      timeoutMs: 2000,
      retryDelaysMs: ladder,
      name: "lenient",
      mandatory: false,
    });
    try {
      await waitFor(() => lenient.isReady(), "lenient publisher ready");
      await lenient.publish(names.events, "nobody.listens", Buffer.from("{}"), { messageId: "m-events" });
    } finally {
      await lenient.close();
    }
  });

  // While the broker is unreachable a publish fails fast (503 upstream) and, once the vhost is
  // back, the publisher reconnects and re-declares the topology by itself.
  it("fails fast while the vhost is gone and recovers when it returns", async () => {
    await vhost.delete();
    await waitFor(() => !publisher.isReady(), "publisher notices the loss");
    const started = Date.now();
    await expect(
      publisher.publish(names.exchange, "stripe.x", Buffer.from("{}"), { messageId: "m-down" }),
    ).rejects.toMatchObject({ code: "broker_unavailable" });
    expect(Date.now() - started).toBeLessThan(500);

    await vhost.create();
    await waitFor(() => publisher.isReady(), "publisher reconnects", 15_000);
    await publisher.publish(names.exchange, "stripe.y", Buffer.from("{}"), { messageId: "m-up" });
    const back = await getOne(names.queue);
    expect(back?.properties.messageId).toBe("m-up");
  });
});
