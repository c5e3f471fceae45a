import amqplib, { type ChannelModel, type ConfirmChannel, type GetMessage, type Options } from "amqplib";
import type { Counter, Histogram } from "prom-client";
import { brokerUserOf } from "../../lib/amqp/broker-url.ts";
import { type Broker, connectBroker } from "../../lib/amqp/connection.ts";
import { names } from "../../lib/amqp/topology.ts";
import type { Db } from "../../lib/db/database.ts";
import type { Appliers } from "../../lib/worker/applied-settlement.ts";
import { type Consumer, startConsumer } from "../../lib/worker/consumer.ts";
import { waitFor } from "../helpers/wait.ts";
import { log, type TestHandler, testAppliers } from "./test-appliers.ts";

// A consumer on a test vhost, and a raw amqplib client to publish and inspect, as other services
// and ops would.

export interface TestConsumer {
  readonly broker: Broker;
  readonly consumer: Consumer;
  stop(): Promise<void>;
}

/**
 * The real consumer with test appliers running `handler` (or the `appliers` given); `wrap` may
 * intercept them. Stripe events are applied up to `batchSize` (default 10) per transaction.
 */
export async function startTestConsumer(
  url: string,
  db: Db,
  handler: TestHandler,
  options: {
    ladder: readonly number[];
    prefetch?: number;
    batchSize?: number;
    appliers?: Appliers;
    wrap?: (appliers: Appliers) => Appliers;
  },
): Promise<TestConsumer> {
  const broker = connectBroker(url, { log, name: "consumer-test" });
  const appliers = options.appliers ?? testAppliers(db, handler);
  const consumer = startConsumer(
    { broker, log, appliers: options.wrap === undefined ? appliers : options.wrap(appliers) },
    {
      prefetch: options.prefetch ?? 10,
      retryDelaysMs: options.ladder,
      publishTimeoutMs: 2000,
      batchSize: options.batchSize ?? 10,
      // rawClient publishes as the vhost's user, as the ingester would: a trusted publisher
      publishers: { trusted: new Set([brokerUserOf(url)]), self: brokerUserOf(url) },
    },
  );
  await waitFor(() => consumer.isReady(), "consumer ready");
  return {
    broker,
    consumer,
    async stop() {
      await consumer.stop();
      await broker.close();
    },
  };
}

/** A plain amqplib client on the vhost: publishes with confirms, reads queues. */
export interface RawClient {
  publish(
    routingKey: string,
    body: string | Buffer,
    options?: Options.Publish,
    exchange?: string,
  ): Promise<void>;
  /** Takes (and acks) every message now ready in `queue`. */
  drain(queue: string): Promise<GetMessage[]>;
  messageCount(queue: string): Promise<number>;
  close(): Promise<void>;
}

export async function rawClient(url: string): Promise<RawClient> {
  const connection: ChannelModel = await amqplib.connect(url);
  const channel: ConfirmChannel = await connection.createConfirmChannel();
  return {
    async publish(routingKey, body, options = {}, exchange = names.exchange) {
      channel.publish(exchange, routingKey, typeof body === "string" ? Buffer.from(body) : body, {
        persistent: true,
        userId: brokerUserOf(url),
        contentType: "application/json",
        timestamp: Math.floor(Date.now() / 1000),
        ...options,
      });
      await channel.waitForConfirms();
    },
    async drain(queue) {
      const messages: GetMessage[] = [];
      for (;;) {
        const message = await channel.get(queue, { noAck: true });
        if (message === false) return messages;
        messages.push(message);
      }
    },
    async messageCount(queue) {
      return (await channel.checkQueue(queue)).messageCount;
    },
    async close() {
      await connection.close();
    },
  };
}

/**
 * A webhook message as the ingester sends it: a Stripe event envelope (`id` must start with evt_)
 * of a type billing does not apply, unless `type` says otherwise; the test appliers ignore its body.
 */
export function webhook(id: string, type = "test.effect"): { body: string; options: Options.Publish } {
  return {
    body: JSON.stringify({
      id,
      object: "event",
      type,
      created: 1_760_000_000,
      data: { object: { id: "obj_1" } },
    }),
    options: { messageId: id, type, headers: { "x-source": "stripe" } },
  };
}

/** Collects DLQ messages across calls, so tests sharing a vhost can each find their own. */
export function dlqCollector(
  client: RawClient,
): (what: string, match: (m: GetMessage) => boolean) => Promise<GetMessage> {
  const seen: GetMessage[] = [];
  return async (what, match) => {
    let found: GetMessage | undefined;
    await waitFor(async () => {
      seen.push(...(await client.drain(names.dlq)));
      found = seen.find(match);
      return found !== undefined;
    }, `dead letter ${what}`);
    if (found === undefined) throw new Error(`no dead letter ${what}`);
    return found;
  };
}

/** The current value of a counter (or a histogram's count) for some labels. */
export async function metricValue(
  metric: Counter<string> | Histogram<string>,
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await metric.get();
  const match = values.find(
    (v) =>
      (!("metricName" in v) || v.metricName === undefined || String(v.metricName).endsWith("_count")) &&
      Object.entries(labels).every(([k, val]) => v.labels[k] === val),
  );
  return match?.value ?? 0;
}
