/** Any Stripe object the emulator keeps: an id and an `object` naming its kind. */
export interface StripeObject {
  id: string;
  object: string;
  [field: string]: unknown;
}

/** An event as Stripe sends it to webhooks and lists it at `GET /v1/events`. */
export interface StripeEvent {
  id: string;
  object: "event";
  api_version: string;
  created: number;
  data: { object: StripeObject; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}
