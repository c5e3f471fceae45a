import type { Channel } from "amqplib";
import { retryQueueName } from "../domain/retry-policy.ts";
import type { TopologyPart } from "./ensure-topology.ts";

export { retryQueueName };

// The RabbitMQ topology of the Contract. `release` declares it; every other process makes sure it
// exists on every (re)connect (lib/amqp/ensure-topology.ts): passively when it is there, so that
// no runtime process needs `configure` permission, and by declaring it when it is missing and the
// broker user may, so that a broker that lost its definitions (or a new vhost) is repaired by
// whichever process connects with the right to.

export const names = {
  exchange: "billing",
  events: "billing.events",
  dlx: "billing.dlx",
  /** Direct exchange of the retry queues (each bound by its name): the worker writes no other queue. */
  retry: "billing.retry",
  queue: "billing_queue",
  dlq: "billing_queue.dlq",
} as const;

/** A crash-looping message is dead-lettered by the broker after this many deliveries. */
export const deliveryLimit = 10;

/** The arguments of every queue, by name: what `rabbitmqctl list_queues name type arguments` shows. */
export function queueArguments(retryDelaysMs: readonly number[]): Record<string, Record<string, unknown>> {
  const queues: Record<string, Record<string, unknown>> = {
    [names.queue]: {
      "x-queue-type": "quorum",
      "x-delivery-limit": deliveryLimit,
      "x-dead-letter-exchange": names.dlx,
      // at-least-once dead-lettering needs reject-publish overflow
      "x-dead-letter-strategy": "at-least-once",
      "x-overflow": "reject-publish",
    },
    [names.dlq]: { "x-queue-type": "quorum" },
  };
  for (const delay of retryDelaysMs) {
    queues[retryQueueName(delay)] = {
      "x-queue-type": "quorum",
      "x-message-ttl": delay,
      // back to billing_queue through the default exchange; the original routing key travels in
      // the x-routing-key header
      "x-dead-letter-exchange": "",
      "x-dead-letter-routing-key": names.queue,
      "x-dead-letter-strategy": "at-least-once",
      "x-overflow": "reject-publish",
    };
  }
  return queues;
}

/** Declares exchanges, queues and bindings; idempotent. */
export async function declareTopology(channel: Channel, retryDelaysMs: readonly number[]): Promise<void> {
  await channel.assertExchange(names.exchange, "topic", { durable: true });
  await channel.assertExchange(names.events, "topic", { durable: true });
  await channel.assertExchange(names.dlx, "topic", { durable: true });
  await channel.assertExchange(names.retry, "direct", { durable: true });
  for (const [queue, args] of Object.entries(queueArguments(retryDelaysMs))) {
    await channel.assertQueue(queue, { durable: true, arguments: args });
  }
  await channel.bindQueue(names.queue, names.exchange, "stripe.#");
  await channel.bindQueue(names.queue, names.exchange, "command.#");
  await channel.bindQueue(names.dlq, names.dlx, "#");
  // a message given back during a database outage goes straight to billing_queue
  await channel.bindQueue(names.queue, names.retry, names.queue);
  for (const delay of retryDelaysMs) {
    await channel.bindQueue(retryQueueName(delay), names.retry, retryQueueName(delay));
  }
}

/** What a process uses of the topology (by default all of it). */
export interface TopologyUse {
  readonly exchanges: readonly string[];
  readonly queues: readonly string[];
}

/** Every exchange and queue of the topology. */
export function wholeTopology(retryDelaysMs: readonly number[]): TopologyUse {
  return {
    exchanges: [names.exchange, names.events, names.dlx, names.retry],
    queues: Object.keys(queueArguments(retryDelaysMs)),
  };
}

/** Checks passively that these exchanges and queues exist; rejects (and the channel closes) on the first missing. */
export async function checkTopology(channel: Channel, use: TopologyUse): Promise<void> {
  for (const exchange of use.exchanges) await channel.checkExchange(exchange);
  for (const queue of use.queues) await channel.checkQueue(queue);
}

/**
 * The topology as a part to ensure (lib/amqp/ensure-topology.ts): checks what the process uses
 * (a publisher its exchange; the relay need not agree on RETRY_DELAYS_MS), declares it all.
 */
export function billingTopology(retryDelaysMs: readonly number[], use?: TopologyUse): TopologyPart {
  return {
    what: "the billing topology",
    check: (channel) => checkTopology(channel, use ?? wholeTopology(retryDelaysMs)),
    declare: (channel) => declareTopology(channel, retryDelaysMs),
  };
}
