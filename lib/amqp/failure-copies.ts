import type { Message, MessageProperties, Options } from "amqplib";
import { errorCode, errorMessage } from "../domain/errors.ts";
import { firstPublisher, originalUserIdHeader } from "../domain/stripe-publisher-trust.ts";
import type { OutgoingMessage } from "./confirmed-publish.ts";
import { originalRoutingKey } from "./inbound-message.ts";
import { names } from "./topology.ts";

// The fresh copies the consumer publishes before it acks a failed delivery: one for a delayed-retry
// queue, one for the dead-letter exchange. Same body and properties, our bookkeeping in headers.
// RabbitMQ refuses a user_id other than the publishing connection's user, so a copy carries the
// worker's own (`publisher`) and keeps the first publisher's in x-original-user-id: a retried
// Stripe event stays trusted only if its first publisher was, and a dead letter remembers it for
// its replay (lib/domain/stripe-publisher-trust.ts).

export type OutgoingCopy = OutgoingMessage;

export type DeadLetterKind = "permanent" | "exhausted";

// Header values are bounded so that a huge error text cannot push a message over the frame limit.
const maxErrorLength = 1000;

/**
 * The copy for `billing_queue.retry.<ms>` (through exchange billing.retry, bound by queue name):
 * x-attempts + 1; back in billing_queue after the queue's TTL. `publisher` is the worker's broker user.
 */
export function retryCopy(
  delivery: Message,
  attempt: number,
  queue: string,
  error: unknown,
  publisher: string,
): OutgoingCopy {
  return {
    exchange: names.retry,
    routingKey: queue,
    content: delivery.content,
    options: publishOptions(delivery.properties, publisher, {
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
 * unavailable: straight to the queue, x-attempts unchanged (no retry step spent), x-returned + 1,
 * published as the worker (`publisher`) with the first publisher kept, as a retry copy is.
 * A fresh copy (then the ack), rather than a requeue, because a quorum queue counts every requeue
 * towards x-delivery-limit: outages would otherwise park innocent messages as delivery-limit.
 */
export function returnCopy(delivery: Message, publisher: string): OutgoingCopy {
  return {
    // billing.retry binds billing_queue by its name too: the worker writes no other exchange
    exchange: names.retry,
    routingKey: names.queue,
    content: delivery.content,
    options: publishOptions(delivery.properties, publisher, {
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
  publisher: string,
): OutgoingCopy {
  const routingKey = originalRoutingKey(delivery);
  return {
    exchange: names.dlx,
    routingKey,
    content: delivery.content,
    options: publishOptions(delivery.properties, publisher, {
      "x-error": bounded(errorMessage(error)),
      "x-error-kind": kind,
      "x-error-code": errorCode(error),
      "x-attempts": attempt,
      "x-failed-at": failedAt.toISOString(),
      "x-routing-key": routingKey,
    }),
  };
}

function publishOptions(
  properties: MessageProperties,
  publisher: string,
  extra: Record<string, unknown>,
): Options.Publish {
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(properties.headers ?? {})) {
    // set by the broker on a redelivery: it describes the old delivery, not the copy
    if (name !== "x-delivery-count") headers[name] = value;
  }
  headers[originalUserIdHeader] = firstPublisher(properties.userId, headers[originalUserIdHeader]);
  Object.assign(headers, extra);
  return {
    headers,
    userId: publisher,
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
