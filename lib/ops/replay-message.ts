import type { Options } from "amqplib";
import { names } from "../amqp/topology.ts";
import type { JsonObject } from "../db/schema/columns.ts";
import { firstPublisher, originalUserIdHeader } from "../domain/stripe-publisher-trust.ts";

// What `dlq replay` publishes for one dead letter: the original body bytes, routing key and
// properties, with the failure bookkeeping taken off so the message starts its attempts afresh.
// The user_id cannot be the original's (RabbitMQ refuses a user_id that is not the publishing
// connection's user): the replay carries the replaying user's, and x-original-user-id keeps who
// first published it. The worker applies a replayed Stripe event only when both are trusted, so a
// replay never turns an untrusted message into a trusted one (lib/domain/stripe-publisher-trust.ts).
// A letter that knows no first publisher at all (archived before user ids were kept) gets no
// header: the replaying user vouches for it alone.

/**
 * Headers the consumer adds when a message fails (x-error, x-error-kind, x-error-code…, the retry
 * copy's x-last-error, x-attempts, x-failed-at, x-routing-key, and x-returned of a message given
 * back during a database outage); a replay starts without them.
 */
export function isFailureHeader(name: string): boolean {
  return (
    /^x-error/.test(name) ||
    ["x-last-error", "x-attempts", "x-failed-at", "x-routing-key", "x-returned"].includes(name)
  );
}

// Set by RabbitMQ when it dead-letters or redelivers; they describe the old journey, not this one.
const brokerHeader = /^(x-death$|x-first-death-|x-last-death-|x-delivery-count$)/;

export interface DeadLetterToReplay {
  readonly id: number;
  readonly routing_key: string;
  readonly body: Buffer;
  readonly properties: JsonObject;
  readonly headers: JsonObject;
}

export interface ReplayMessage {
  readonly exchange: string;
  readonly routingKey: string;
  readonly body: Buffer;
  readonly options: Options.Publish;
}

/**
 * The message that replays `letter` through exchange `billing`; `now` becomes its timestamp and
 * `userId` (the replaying connection's broker user) its user_id.
 */
export function replayMessage(letter: DeadLetterToReplay, now: Date, userId: string): ReplayMessage {
  const original = letter.headers["x-routing-key"];
  // Through a retry queue the delivery's routing key is the queue's; the header keeps the first one.
  const routingKey = typeof original === "string" && original !== "" ? original : letter.routing_key;
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(letter.headers)) {
    if (isFailureHeader(name) || brokerHeader.test(name)) continue;
    headers[name] = value;
  }
  headers["x-replayed-from"] = String(letter.id);

  const p = letter.properties;
  const knowsPublisher = originalUserIdHeader in letter.headers || typeof p.userId === "string";
  if (knowsPublisher) {
    headers[originalUserIdHeader] = firstPublisher(p.userId, letter.headers[originalUserIdHeader]);
  }
  const text = (name: string): string | undefined =>
    typeof p[name] === "string" ? (p[name] as string) : undefined;
  const int = (name: string): number | undefined =>
    typeof p[name] === "number" && Number.isSafeInteger(p[name]) ? (p[name] as number) : undefined;
  const expiration = text("expiration") ?? int("expiration");
  const options: Options.Publish = {
    headers,
    // A replay must survive a broker restart even if the original was sent transient.
    deliveryMode: int("deliveryMode") ?? 2,
    // The age metric measures time spent queued: the replay is queued now, not when it first failed.
    timestamp: Math.floor(now.getTime() / 1000),
    ...defined("contentType", text("contentType")),
    ...defined("contentEncoding", text("contentEncoding")),
    ...defined("priority", int("priority")),
    ...defined("correlationId", text("correlationId")),
    ...defined("replyTo", text("replyTo")),
    ...defined("expiration", expiration),
    ...defined("messageId", text("messageId")),
    ...defined("type", text("type")),
    ...defined("appId", text("appId")),
    userId,
  };
  return { exchange: names.exchange, routingKey, body: letter.body, options };
}

function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
