import Stripe from "stripe";
import { newId } from "./ids.ts";
import type { StripeEvent, StripeObject } from "./objects/event.ts";
import { type EventRecord, now, type Store } from "./store.ts";

/** Who caused an event: the API request (id and idempotency key) or a simulation (nulls). */
export interface EventSource {
  readonly requestId: string | null;
  readonly idempotencyKey: string | null;
}

/** Where emitted events go besides the store: the webhook delivery queue. */
export interface EventSink {
  /** How many endpoints will be sent this event (Stripe's `pending_webhooks`). */
  pendingWebhooks(): number;
  publish(record: EventRecord): void;
}

/** The context every state change runs in. */
export interface Emitter {
  readonly store: Store;
  readonly source: EventSource;
  readonly sink: EventSink;
}

/**
 * Records an event with a snapshot of `object` as it is now, then hands it to the sink. The JSON is
 * pretty-printed as Stripe sends it, and frozen here: later changes to the object do not alter it.
 */
export function emit(
  emitter: Emitter,
  type: string,
  object: StripeObject,
  previousAttributes?: Record<string, unknown>,
): StripeEvent {
  const { store, source, sink } = emitter;
  const event: StripeEvent = {
    id: newId("evt"),
    object: "event",
    api_version: Stripe.API_VERSION,
    created: now(store),
    data: previousAttributes === undefined ? { object } : { object, previous_attributes: previousAttributes },
    livemode: false,
    pending_webhooks: sink.pendingWebhooks(),
    request: { id: source.requestId, idempotency_key: source.idempotencyKey },
    type,
  };
  const record: EventRecord = {
    id: event.id,
    type,
    created: event.created,
    json: JSON.stringify(event, null, 2),
  };
  store.eventPosition.set(record.id, store.events.length);
  store.events.push(record);
  sink.publish(record);
  return event;
}
