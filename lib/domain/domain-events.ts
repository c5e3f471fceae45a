import { createHash } from "node:crypto";

// The events billing publishes on billing.events (through the outbox). An event's id is derived
// from what caused it, so a redelivered source message rebuilds the same id and consumers dedupe.

export const domainEventTypes = [
  "payment.succeeded",
  "payment.failed",
  "balance.credited",
  "balance.debited",
  "subscription.created",
  "subscription.updated",
  "subscription.canceled",
  "invoice.paid",
  "invoice.payment_failed",
  "command.succeeded",
  "command.failed",
] as const;

export type DomainEventType = (typeof domainEventTypes)[number];

/** The body of a domain event, as the Contract fixes it. */
export interface DomainEvent<T extends DomainEventType = DomainEventType> {
  id: string;
  type: T;
  /** ISO 8601. */
  occurredAt: string;
  /** The command id for command results, else the source message id. */
  correlationId: string;
  data: Record<string, unknown>;
}

/** True when the string names a domain event type. */
export function isDomainEventType(value: unknown): value is DomainEventType {
  return (domainEventTypes as readonly unknown[]).includes(value);
}

/** The stable id of the `type` event caused by `sourceId` (e.g. a Stripe event or command id). */
export function domainEventId(sourceId: string, type: DomainEventType): string {
  // JSON of the pair keeps ("a:b","c") and ("a","b:c") apart
  const digest = createHash("sha256")
    .update(JSON.stringify([sourceId, type]))
    .digest("hex");
  return `evt_billing_${digest.slice(0, 32)}`;
}

/** Builds a domain event; the same (sourceId, type) always gives the same id. */
export function domainEvent<T extends DomainEventType>(input: {
  type: T;
  sourceId: string;
  correlationId: string;
  occurredAt: Date | string;
  data: Record<string, unknown>;
}): DomainEvent<T> {
  if (!isDomainEventType(input.type)) throw new RangeError(`domainEvent: unknown type ${String(input.type)}`);
  if (input.sourceId.length === 0) throw new RangeError(`domainEvent ${input.type}: sourceId is empty`);
  if (input.correlationId.length === 0) {
    throw new RangeError(`domainEvent ${input.type}: correlationId is empty`);
  }
  const at = new Date(input.occurredAt);
  if (Number.isNaN(at.getTime())) throw new RangeError(`domainEvent ${input.type}: occurredAt is not a date`);
  return {
    id: domainEventId(input.sourceId, input.type),
    type: input.type,
    occurredAt: at.toISOString(),
    correlationId: input.correlationId,
    data: input.data,
  };
}
