import { createHash } from "node:crypto";
import type { Message } from "amqplib";
import { type Command, validateCommand } from "../domain/commands.ts";
import { errorMessage, PermanentError } from "../domain/errors.ts";
import { parseAttempts } from "../domain/retry-policy.ts";
import { type StripeChange, stripeChange } from "../domain/stripe-change.ts";
import { parseStripeEvent, type StripeEventHead } from "../domain/stripe-event.ts";
import { originalUserIdHeader, untrustedPublisherError } from "../domain/stripe-publisher-trust.ts";

// A delivery from billing_queue is read ONCE, where it comes in, into a typed message: a Stripe
// event (with the change it asks for) or a command (validated). Everything after this switches on
// `kind`; nothing else looks at a routing-key prefix or parses the body again. A delivery that can
// never apply as it is (no id, a body that is not what its routing key says) is refused here, as
// permanent, before any transaction.
//
// Through a retry queue a message comes back with the routing key "billing_queue", so the first
// routing key travels in x-routing-key; the attempt count is our own x-attempts header, never
// x-death (whose counting changed across RabbitMQ versions).

/** What any delivery says about itself, valid or not: for logs, metrics and failure copies. */
export interface DeliveryFacts {
  readonly messageId: string | undefined;
  /** properties.type, else derived from the routing key. */
  readonly type: string;
  /** The routing key it was first published with. */
  readonly routingKey: string;
  /** How many delayed retries it already had (x-attempts; 0 on a first delivery). */
  readonly attempt: number;
  /** The x-source header: "stripe", "reconcile", or the sending service's name. */
  readonly source: string | undefined;
  /** properties.userId: the broker user that published it (RabbitMQ checks it against the connection). */
  readonly userId: string | undefined;
}

interface MessageOf<K extends string> extends DeliveryFacts {
  readonly kind: K;
  readonly messageId: string;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, unknown>>;
}

/** A `stripe.*` message: the Stripe event it carries and the change that event asks for. */
export interface StripeEventMessage extends MessageOf<"stripe-event"> {
  readonly event: StripeEventHead;
  readonly change: StripeChange;
}

/** A `command.*` message: a valid command whose id is the message id. */
export interface CommandMessage extends MessageOf<"command"> {
  readonly command: Command;
}

export type InboundMessage = StripeEventMessage | CommandMessage;

/** A delivery as read once: its facts, and the message or why it can never be applied. */
export type ReadDelivery =
  | { readonly facts: DeliveryFacts; readonly message: InboundMessage; readonly refusal?: undefined }
  | { readonly facts: DeliveryFacts; readonly message?: undefined; readonly refusal: PermanentError };

/**
 * Who may have published a Stripe event that is applied: the broker users trusted for it
 * (STRIPE_EVENT_PUBLISHERS), or "any" where the publisher is not in question (ops reading keys).
 */
export type StripePublishers = ReadonlySet<string> | "any";

/**
 * Reads a delivery into a typed message, or a PermanentError saying why it can never apply,
 * including a `stripe.*` message that no trusted publisher sent.
 */
export function readDelivery(delivery: Message, publishers: StripePublishers): ReadDelivery {
  return readMessage(
    {
      ...delivery.properties,
      routingKey: delivery.fields.routingKey,
      headers: delivery.properties.headers ?? {},
      body: delivery.content,
    },
    publishers,
  );
}

/** A message as the broker delivered it, or as a dead letter keeps it. */
export interface RawMessage {
  readonly messageId?: unknown;
  readonly type?: unknown;
  readonly userId?: unknown;
  /** The routing key it was delivered with (x-routing-key in `headers` wins). */
  readonly routingKey: string;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly body: Buffer;
}

/** Reads a raw message as the worker does (ops use it on dead letters). */
export function readMessage(raw: RawMessage, publishers: StripePublishers): ReadDelivery {
  const facts = rawFacts(raw);
  try {
    return { facts, message: toMessage(raw, facts, publishers) };
  } catch (error) {
    if (error instanceof PermanentError) return { facts, refusal: error };
    throw error;
  }
}

/** The facts of any delivery, valid or not. */
export function deliveryFacts(delivery: Message): DeliveryFacts {
  return rawFacts({
    ...delivery.properties,
    routingKey: delivery.fields.routingKey,
    headers: delivery.properties.headers ?? {},
    body: delivery.content,
  });
}

function rawFacts(raw: RawMessage): DeliveryFacts {
  const { headers, messageId, type, userId } = raw;
  const header = headers["x-routing-key"];
  const routingKey = typeof header === "string" && header !== "" ? header : raw.routingKey;
  const source = headers["x-source"];
  return {
    messageId: typeof messageId === "string" && messageId !== "" ? messageId : undefined,
    type: typeof type === "string" && type !== "" ? type : typeFromRoutingKey(routingKey),
    routingKey,
    attempt: parseAttempts(headers["x-attempts"]),
    source: typeof source === "string" ? source : undefined,
    userId: typeof userId === "string" && userId !== "" ? userId : undefined,
  };
}

/** The routing key the message was first published with. */
export function originalRoutingKey(delivery: Message): string {
  const header = delivery.properties.headers?.["x-routing-key"];
  return typeof header === "string" && header !== "" ? header : delivery.fields.routingKey;
}

/**
 * The inbox key of a message. A Stripe event is keyed by its event id. A command is keyed by its id
 * AND its body, so that a re-sent command with other fields reaches the commands table, which
 * reports it as an idempotency_conflict; an identical re-send is a plain duplicate.
 */
export function inboxKey(message: InboundMessage): string {
  switch (message.kind) {
    case "stripe-event":
      return stripeInboxKey(message.messageId);
    case "command":
      return commandInboxKey(message.messageId, message.body);
  }
}

/**
 * The inbox key a read message has, or would have: a message refused as it is (retention asks for
 * parked dead letters) is keyed by its id and family alike, so a row it may own is never missed.
 */
export function inboxKeyOf(read: ReadDelivery, body: Buffer): string | undefined {
  if (read.message !== undefined) return inboxKey(read.message);
  const { messageId, routingKey } = read.facts;
  if (messageId === undefined) return undefined;
  if (routingKey.startsWith("stripe.")) return stripeInboxKey(messageId);
  if (routingKey.startsWith("command.")) return commandInboxKey(messageId, body);
  return undefined;
}

/** The inbox key of the Stripe event `eventId` (reconcile computes it from the Events API). */
export function stripeInboxKey(eventId: string): string {
  return `stripe:${eventId}`;
}

function commandInboxKey(commandId: string, body: Buffer): string {
  return `command:${commandId}:${createHash("sha256").update(body).digest("hex")}`;
}

function toMessage(raw: RawMessage, facts: DeliveryFacts, publishers: StripePublishers): InboundMessage {
  const { messageId, routingKey } = facts;
  if (messageId === undefined) throw new PermanentError("invalid_message", "message has no messageId");
  const base = { ...facts, messageId, body: raw.body, headers: raw.headers };
  if (routingKey.startsWith("stripe.")) {
    // before the body: whatever it says, nothing of it is believed unless a trusted user sent it
    if (publishers !== "any") {
      const original = raw.headers[originalUserIdHeader];
      const untrusted = untrustedPublisherError(
        { userId: facts.userId, originalUserId: typeof original === "string" ? original : undefined },
        publishers,
      );
      if (untrusted !== undefined) throw untrusted;
    }
    const event = parseStripeEvent(raw.body);
    if (event.id !== messageId) {
      throw new PermanentError(
        "invalid_message",
        `message id ${JSON.stringify(messageId)} is not the id of the Stripe event it carries (${event.id})`,
      );
    }
    const head = { id: event.id, type: event.type, created: event.created, livemode: event.livemode };
    return { ...base, kind: "stripe-event", event: head, change: stripeChange(event) };
  }
  if (routingKey.startsWith("command.")) {
    return { ...base, kind: "command", command: readCommand(raw.body, messageId, routingKey) };
  }
  throw new PermanentError(
    "invalid_message",
    `routing key "${routingKey}" is neither stripe.* nor command.*`,
  );
}

// A body that is not a valid command can never apply as it is: refused with every problem named,
// so that ops can fix and replay it.
function readCommand(body: Buffer, messageId: string, routingKey: string): Command {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new PermanentError("invalid_command", `command body is not JSON: ${errorMessage(error)}`);
  }
  const validation = validateCommand(json);
  if (!validation.ok) {
    const problems = validation.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    throw new PermanentError("invalid_command", `invalid command ${JSON.stringify(messageId)}: ${problems}`);
  }
  const { command } = validation;
  if (command.id !== messageId) {
    throw new PermanentError(
      "invalid_command",
      `messageId ${JSON.stringify(messageId)} is not the command's id ${JSON.stringify(command.id)}`,
    );
  }
  if (routingKey !== `command.${command.type}`) {
    throw new PermanentError(
      "invalid_command",
      `routing key "${routingKey}" does not match the command's type ${command.type}`,
    );
  }
  return command;
}

/** "stripe.invoice.paid" → "invoice.paid"; a key without a family prefix is its own type. */
function typeFromRoutingKey(routingKey: string): string {
  const dot = routingKey.indexOf(".");
  return dot === -1 ? routingKey : routingKey.slice(dot + 1);
}
