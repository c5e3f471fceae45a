import type { Message } from "amqplib";
import { PermanentError } from "../domain/errors.ts";
import { parseAttempts } from "../domain/retry-policy.ts";
import { originalUserIdHeader, untrustedPublisherError } from "../domain/stripe-publisher-trust.ts";
import type { InboundMessage } from "../handlers/context.ts";

// A delivery from billing_queue as the handlers see it. Through a retry queue a message comes back
// with the routing key "billing_queue", so the first routing key travels in x-routing-key; the
// attempt count is our own x-attempts header, never x-death (whose counting changed across
// RabbitMQ versions).

/** What a delivery says about itself, readable even when it is not a valid message (for logs and metrics). */
export interface DeliveryFacts {
  readonly messageId: string | undefined;
  readonly type: string;
  readonly routingKey: string;
  readonly attempt: number;
}

/** The facts of any delivery, valid or not. */
export function deliveryFacts(delivery: Message): DeliveryFacts {
  const headers = delivery.properties.headers ?? {};
  const routingKey = originalRoutingKey(delivery);
  const messageId = delivery.properties.messageId;
  const type = delivery.properties.type;
  return {
    messageId: typeof messageId === "string" && messageId !== "" ? messageId : undefined,
    type: typeof type === "string" && type !== "" ? type : typeFromRoutingKey(routingKey),
    routingKey,
    attempt: parseAttempts(headers["x-attempts"]),
  };
}

/** The routing key the message was first published with. */
export function originalRoutingKey(delivery: Message): string {
  const header = delivery.properties.headers?.["x-routing-key"];
  return typeof header === "string" && header !== "" ? header : delivery.fields.routingKey;
}

/**
 * A delivery as an InboundMessage; a PermanentError when it can never be applied as it is,
 * including a `stripe.*` message whose publisher is not among `trustedPublishers`.
 */
export function parseDelivery(delivery: Message, trustedPublishers: ReadonlySet<string>): InboundMessage {
  const facts = deliveryFacts(delivery);
  const headers = delivery.properties.headers ?? {};
  const original = headers[originalUserIdHeader];
  const untrusted = untrustedPublisherError(
    {
      routingKey: facts.routingKey,
      userId: typeof delivery.properties.userId === "string" ? delivery.properties.userId : undefined,
      originalUserId: typeof original === "string" ? original : undefined,
    },
    trustedPublishers,
  );
  if (untrusted !== undefined) throw untrusted;
  if (facts.messageId === undefined) {
    throw new PermanentError("invalid_message", "message has no messageId");
  }
  if (!isJsonObject(delivery.content)) {
    throw new PermanentError("invalid_message", "body is not a JSON object");
  }
  const source = headers["x-source"];
  return {
    id: facts.messageId,
    type: facts.type,
    routingKey: facts.routingKey,
    body: delivery.content,
    headers,
    source: typeof source === "string" ? source : undefined,
    attempt: facts.attempt,
  };
}

/** "stripe.invoice.paid" → "invoice.paid"; a key without a family prefix is its own type. */
function typeFromRoutingKey(routingKey: string): string {
  const dot = routingKey.indexOf(".");
  return dot === -1 ? routingKey : routingKey.slice(dot + 1);
}

function isJsonObject(body: Buffer): boolean {
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    // unparseable: the caller dead-letters it with its own message
    return false;
  }
}
