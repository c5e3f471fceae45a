import amqplib, { type ChannelModel, type ConfirmChannel, type GetMessage, type Options } from "amqplib";
import type { Counter, Histogram } from "prom-client";
import { brokerUserOf } from "../../lib/amqp/broker-url.ts";
import { type Broker, connectBroker } from "../../lib/amqp/connection.ts";
import { type ApplyBatch, type ApplyMessage, type Consumer, startConsumer } from "../../lib/amqp/consumer.ts";
import { names } from "../../lib/amqp/topology.ts";
import type { Db } from "../../lib/db/database.ts";
import type { Handler } from "../../lib/handlers/context.ts";
import { applyBatch, applyMessage } from "../../lib/worker/apply-message.ts";
import { waitFor } from "../helpers/wait.ts";
import { log, stripe } from "../worker/test-handlers.ts";

// A consumer on a test vhost with a test handler, and a raw amqplib client to publish and inspect,
// as other services and ops would.

export interface TestConsumer {
  readonly broker: Broker;
  readonly consumer: Consumer;
  stop(): Promise<void>;
}

/**
 * The real consumer and applyMessage, with `dispatch` as the handler; `wrap` may intercept apply.
 * With `batch`, Stripe events are applied up to `batch.size` per transaction through applyBatch,
 * which `batch.wrap` may intercept.
 */
export async function startTestConsumer(
  url: string,
  db: Db,
  dispatch: Handler,
  options: {
    ladder: readonly number[];
    prefetch?: number;
    wrap?: (apply: ApplyMessage) => ApplyMessage;
    batch?: { size: number; wrap?: (applyBatch: ApplyBatch) => ApplyBatch };
  },
): Promise<TestConsumer> {
  const broker = connectBroker(url, { log, name: "consumer-test" });
  const apply: ApplyMessage = (message) => applyMessage({ db, log, stripe, dispatch }, message);
  const batch: ApplyBatch = (messages) => applyBatch({ db, log, stripe, dispatch }, messages);
  const consumer = startConsumer(
    {
      broker,
      log,
      apply: options.wrap === undefined ? apply : options.wrap(apply),
      ...(options.batch === undefined
        ? {}
        : { applyBatch: options.batch.wrap === undefined ? batch : options.batch.wrap(batch) }),
    },
    {
      prefetch: options.prefetch ?? 10,
      retryDelaysMs: options.ladder,
      publishTimeoutMs: 2000,
      batchSize: options.batch?.size ?? 1,
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

/** A Stripe-like webhook message body and its publish options, as the ingester sends it. */
export function webhook(id: string, type = "invoice.paid"): { body: string; options: Options.Publish } {
  return {
    body: JSON.stringify({ id, object: "event", type }),
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
