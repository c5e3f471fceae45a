import type { Message, MessageProperties, Options } from "amqplib";
import { errorCode, errorMessage } from "../domain/errors.ts";
import type { OutgoingMessage } from "./confirmed-publish.ts";
import { originalRoutingKey } from "./inbound-message.ts";
import { names } from "./topology.ts";

// The fresh copies the consumer publishes before it acks a failed delivery: one for a delayed-retry
// queue, one for the dead-letter exchange. Same body and properties, our bookkeeping in headers.

export type OutgoingCopy = OutgoingMessage;

export type DeadLetterKind = "permanent" | "exhausted";

// Header values are bounded so that a huge error text cannot push a message over the frame limit.
const maxErrorLength = 1000;

/** The copy for `billing_queue.retry.<ms>`: x-attempts + 1; back in billing_queue after the queue's TTL. */
export function retryCopy(delivery: Message, attempt: number, queue: string, error: unknown): OutgoingCopy {
  return {
    exchange: "",
    routingKey: queue,
    content: delivery.content,
    options: publishOptions(delivery.properties, {
      "x-attempts": attempt + 1,
      "x-routing-key": originalRoutingKey(delivery),
      "x-last-error": bounded(errorMessage(error)),
    }),
  };
}

/**
 * How often a message may be given back during database outages before a further outage counts as
 * its own failure (and climbs the ladder): enough for any flapping database, while a message that
 * itself brings the database down is not recycled forever.
 */
export const maxReturns = 10;

/**
 * The copy that gives a delivery back to billing_queue unapplied because the database was
 * unavailable: straight to the queue, x-attempts unchanged (no retry step spent), x-returned + 1.
 * A fresh copy (then the ack), rather than a requeue, because a quorum queue counts every requeue
 * towards x-delivery-limit: outages would otherwise park innocent messages as delivery-limit.
 */
export function returnCopy(delivery: Message): OutgoingCopy {
  return {
    exchange: "",
    routingKey: names.queue,
    content: delivery.content,
    options: publishOptions(delivery.properties, {
      "x-routing-key": originalRoutingKey(delivery),
      "x-returned": returnCount(delivery) + 1,
    }),
  };
}

/** How often the delivery was given back already (its x-returned header; 0 when absent). */
export function returnCount(delivery: Message): number {
  const value = delivery.properties.headers?.["x-returned"];
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : 0;
}

/** The copy for billing.dlx with the Contract's dead-letter headers, under the original routing key. */
export function deadLetterCopy(
  delivery: Message,
  attempt: number,
  kind: DeadLetterKind,
  error: unknown,
  failedAt: Date,
): OutgoingCopy {
  const routingKey = originalRoutingKey(delivery);
  return {
    exchange: names.dlx,
    routingKey,
    content: delivery.content,
    options: publishOptions(delivery.properties, {
      "x-error": bounded(errorMessage(error)),
      "x-error-kind": kind,
      "x-error-code": errorCode(error),
      "x-attempts": attempt,
      "x-failed-at": failedAt.toISOString(),
      "x-routing-key": routingKey,
    }),
  };
}

function publishOptions(properties: MessageProperties, extra: Record<string, unknown>): Options.Publish {
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(properties.headers ?? {})) {
    // set by the broker on a redelivery: it describes the old delivery, not the copy
    if (name !== "x-delivery-count") headers[name] = value;
  }
  Object.assign(headers, extra);
  return {
    headers,
    // the copy must survive a broker restart whatever the original said
    deliveryMode: 2,
    ...defined("contentType", properties.contentType),
    ...defined("contentEncoding", properties.contentEncoding),
    ...defined("priority", properties.priority),
    ...defined("correlationId", properties.correlationId),
    ...defined("replyTo", properties.replyTo),
    ...defined("expiration", properties.expiration),
    ...defined("messageId", properties.messageId),
    ...defined("timestamp", properties.timestamp),
    ...defined("type", properties.type),
    ...defined("appId", properties.appId),
    // userId is left out: RabbitMQ closes the channel on a user-id that is not the connection's user.
  };
}

function defined<K extends keyof Options.Publish>(
  key: K,
  value: Options.Publish[K] | null | undefined,
): Partial<Pick<Options.Publish, K>> {
  return value === undefined || value === null ? {} : ({ [key]: value } as Partial<Pick<Options.Publish, K>>);
}

function bounded(text: string): string {
  return text.length <= maxErrorLength ? text : `${text.slice(0, maxErrorLength - 1)}…`;
}
