import {
  type ChargeRefundFacts,
  type CustomerFacts,
  chargeRefundFacts,
  customerFacts,
  type InvoiceFacts,
  invoiceFacts,
  type PaymentIntentFacts,
  paymentIntentFacts,
  type StripeEvent,
  type SubscriptionFacts,
  subscriptionFacts,
} from "./stripe-event.ts";

// What a Stripe event asks billing to change, read once when the message comes in: the family that
// applies it and exactly the facts that family needs. The table below is the list of types billing
// applies; any other type is acknowledged, counted and audited, with no effect.

export type StripeChange =
  | {
      readonly family: "payment";
      readonly facts: PaymentIntentFacts;
      readonly objectCreated: number | undefined;
    }
  | { readonly family: "refund"; readonly facts: ChargeRefundFacts }
  | { readonly family: "subscription"; readonly facts: SubscriptionFacts }
  | { readonly family: "invoice"; readonly facts: InvoiceFacts }
  | { readonly family: "customer"; readonly facts: CustomerFacts }
  | { readonly family: "none" };

export type StripeFamily = Exclude<StripeChange["family"], "none">;

const families = {
  "payment_intent.created": "payment",
  "payment_intent.processing": "payment",
  "payment_intent.requires_action": "payment",
  "payment_intent.amount_capturable_updated": "payment",
  "payment_intent.succeeded": "payment",
  "payment_intent.payment_failed": "payment",
  "payment_intent.canceled": "payment",
  "charge.refunded": "refund",
  "customer.subscription.created": "subscription",
  "customer.subscription.updated": "subscription",
  "customer.subscription.deleted": "subscription",
  "customer.subscription.trial_will_end": "subscription",
  "customer.subscription.paused": "subscription",
  "customer.subscription.resumed": "subscription",
  "invoice.created": "invoice",
  "invoice.finalized": "invoice",
  "invoice.updated": "invoice",
  "invoice.paid": "invoice",
  "invoice.payment_succeeded": "invoice",
  "invoice.payment_failed": "invoice",
  "invoice.marked_uncollectible": "invoice",
  "invoice.voided": "invoice",
  "customer.created": "customer",
} as const satisfies Record<string, StripeFamily>;

export type AppliedStripeEventType = keyof typeof families;

/** The Stripe event types that have an effect (every other type is audited only). */
export const appliedStripeEventTypes = Object.freeze(
  Object.keys(families),
) as readonly AppliedStripeEventType[];

/** True when billing applies this type (own keys only: "toString" is not a type). */
export function isAppliedStripeEventType(type: string): type is AppliedStripeEventType {
  return Object.hasOwn(families, type);
}

/** The change `event` carries; PermanentError(invalid_event) when a field its family needs is bad. */
export function stripeChange(event: StripeEvent): StripeChange {
  if (!isAppliedStripeEventType(event.type)) return { family: "none" };
  switch (families[event.type]) {
    case "payment": {
      const created = event.object.created;
      const objectCreated =
        typeof created === "number" && Number.isSafeInteger(created) ? created : undefined;
      return { family: "payment", facts: paymentIntentFacts(event), objectCreated };
    }
    case "refund":
      return { family: "refund", facts: chargeRefundFacts(event) };
    case "subscription":
      return { family: "subscription", facts: subscriptionFacts(event) };
    case "invoice":
      return { family: "invoice", facts: invoiceFacts(event) };
    case "customer":
      return { family: "customer", facts: customerFacts(event) };
  }
}
