import type { Channel } from "amqplib";
import { retryQueueName } from "../domain/retry-policy.ts";

export { retryQueueName };

// The RabbitMQ topology of the Contract. Every process declares it on every (re)connect, so a
// broker that lost its definitions (or a new vhost) is repaired by whichever process connects.

export const names = {
  exchange: "billing",
  events: "billing.events",
  dlx: "billing.dlx",
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
  for (const [queue, args] of Object.entries(queueArguments(retryDelaysMs))) {
    await channel.assertQueue(queue, { durable: true, arguments: args });
  }
  await channel.bindQueue(names.queue, names.exchange, "stripe.#");
  await channel.bindQueue(names.queue, names.exchange, "command.#");
  await channel.bindQueue(names.dlq, names.dlx, "#");
}
