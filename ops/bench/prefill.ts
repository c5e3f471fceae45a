import amqplib from "amqplib";
import { brokerUserOf } from "../../lib/amqp/broker-url.ts";
import { stripeEventMessage } from "../../lib/amqp/stripe-event-message.ts";
import { names } from "../../lib/amqp/topology.ts";
import type { BenchEvent } from "./signed-events.ts";

/**
 * Publishes events to `billing` exactly as the ingester does (the Contract's webhook message) on a
 * confirm channel, so billing_queue holds a backlog; resolves when the broker confirmed them all.
 * Returns the publish rate (messages/s).
 */
export async function prefillQueue(amqpUrl: string, events: readonly BenchEvent[]): Promise<number> {
  const connection = await amqplib.connect(amqpUrl, { noDelay: true });
  connection.on("error", () => {});
  const startedAt = performance.now();
  try {
    const channel = await connection.createConfirmChannel();
    const window = 2000;
    for (let i = 0; i < events.length; i += window) {
      for (const event of events.slice(i, i + window)) {
        const message = stripeEventMessage({
          eventId: event.id,
          eventType: event.type,
          source: "stripe",
          // the worker applies Stripe events only from trusted publishers (its own user by default)
          userId: brokerUserOf(amqpUrl),
        });
        const ok = channel.publish(
          names.exchange,
          message.routingKey,
          Buffer.from(event.body),
          message.options,
        );
        if (!ok) await new Promise((resolve) => channel.once("drain", resolve));
      }
      // bounded in flight: a window of unconfirmed messages at a time
      await channel.waitForConfirms();
    }
    await channel.close();
  } finally {
    await connection.close();
  }
  return events.length / ((performance.now() - startedAt) / 1000);
}

/** Messages ready in billing_queue (not counting those delivered and not yet acked). */
export async function readyInQueue(amqpUrl: string): Promise<number> {
  const connection = await amqplib.connect(amqpUrl);
  connection.on("error", () => {});
  try {
    const channel = await connection.createChannel();
    const { messageCount } = await channel.checkQueue(names.queue);
    await channel.close();
    return messageCount;
  } finally {
    await connection.close();
  }
}

/** Empties billing_queue (between ingest runs, where nothing consumes). */
export async function purgeQueue(amqpUrl: string): Promise<void> {
  const connection = await amqplib.connect(amqpUrl);
  connection.on("error", () => {});
  try {
    const channel = await connection.createChannel();
    await channel.purgeQueue(names.queue);
    await channel.close();
  } finally {
    await connection.close();
  }
}
