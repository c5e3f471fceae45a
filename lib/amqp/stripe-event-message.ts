import type { PublishOptions } from "./publisher.ts";

// The one place that says how a Stripe event is put on exchange `billing` (the Contract's webhook
// message), for the ingester and the reconciler alike; only x-source tells the two paths apart.

/** Who put a Stripe event on the broker: the ingester (a webhook) or the reconciler (the Events API). */
export type StripeEventSource = "stripe" | "reconcile";

/** The routing key of a Stripe event of this type. */
export function stripeEventRoutingKey(type: string): string {
  return `stripe.${type}`;
}

/** The properties of a Stripe event message: messageId = event id, type, JSON, persistent, x-source. */
export function stripeEventPublishOptions(
  eventId: string,
  type: string,
  source: StripeEventSource,
): PublishOptions {
  return {
    messageId: eventId,
    type,
    contentType: "application/json",
    persistent: true,
    timestamp: Math.floor(Date.now() / 1000),
    headers: { "x-source": source },
  };
}
