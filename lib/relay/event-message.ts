import type { PublishOptions } from "../amqp/publisher.ts";

/** An outbox row as the relay claims it. */
export interface OutboxRow {
  readonly id: number;
  readonly event_id: string;
  readonly type: string;
  readonly correlation_id: string;
  readonly payload: unknown;
  readonly created_at: Date;
}

/** One domain event as it goes onto billing.events. */
export interface EventMessage {
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: PublishOptions;
}

/** The Contract's "Domain event" message for an outbox row; the same row always gives the same message. */
export function eventMessage(row: OutboxRow): EventMessage {
  return {
    routingKey: row.type,
    content: Buffer.from(eventBody(row.payload)),
    options: {
      messageId: row.event_id,
      type: row.type,
      correlationId: row.correlation_id,
      contentType: "application/json",
      persistent: true,
      // AMQP timestamps are whole seconds; the row's time keeps a republished duplicate identical.
      timestamp: Math.floor(row.created_at.getTime() / 1000),
    },
  };
}

/** The payload as JSON with the Contract's key order (jsonb stores keys in its own order). */
export function eventBody(payload: unknown): string {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    return JSON.stringify(payload);
  }
  const { id, type, occurredAt, correlationId, data, ...rest } = payload as Record<string, unknown>;
  return JSON.stringify({ id, type, occurredAt, correlationId, data, ...rest });
}
