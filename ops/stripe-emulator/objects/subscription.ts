import type Stripe from "stripe";
import type { ListObject } from "./list.ts";
import type { Price } from "./price.ts";

/** A subscription item: the price and, since API 2025-03-31, the current period. */
export type SubscriptionItem = Pick<
  Stripe.SubscriptionItem,
  | "id"
  | "object"
  | "billing_thresholds"
  | "created"
  | "current_period_end"
  | "current_period_start"
  | "discounts"
  | "metadata"
  | "quantity"
  | "subscription"
  | "tax_rates"
> & { price: Price };

/** A subscription as Stripe shapes it. */
export type Subscription = Omit<
  Pick<
    Stripe.Subscription,
    | "id"
    | "object"
    | "application"
    | "billing_cycle_anchor"
    | "cancel_at"
    | "cancel_at_period_end"
    | "canceled_at"
    | "cancellation_details"
    | "collection_method"
    | "created"
    | "currency"
    | "customer"
    | "days_until_due"
    | "default_payment_method"
    | "description"
    | "discounts"
    | "ended_at"
    | "latest_invoice"
    | "livemode"
    | "metadata"
    | "start_date"
    | "status"
    | "trial_end"
    | "trial_start"
  >,
  "customer" | "latest_invoice" | "default_payment_method" | "items"
> & {
  customer: string;
  latest_invoice: string | null;
  default_payment_method: string | null;
  items: ListObject<SubscriptionItem>;
};

/** A new subscription on one price: trialing until `trialEnd` when given, else active for a period. */
export function buildSubscription(input: {
  id: string;
  itemId: string;
  created: number;
  customer: string;
  price: Price;
  quantity: number;
  periodEnd: number;
  trialEnd: number | null;
  defaultPaymentMethod: string | null;
  description: string | null;
  metadata: Record<string, string>;
}): Subscription {
  const item: SubscriptionItem = {
    id: input.itemId,
    object: "subscription_item",
    billing_thresholds: null,
    created: input.created,
    current_period_end: input.periodEnd,
    current_period_start: input.created,
    discounts: [],
    metadata: {},
    price: input.price,
    quantity: input.quantity,
    subscription: input.id,
    tax_rates: [],
  };
  return {
    id: input.id,
    object: "subscription",
    application: null,
    billing_cycle_anchor: input.trialEnd ?? input.created,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    collection_method: "charge_automatically",
    created: input.created,
    currency: input.price.currency,
    customer: input.customer,
    days_until_due: null,
    default_payment_method: input.defaultPaymentMethod,
    description: input.description,
    discounts: [],
    ended_at: null,
    items: {
      object: "list",
      data: [item],
      has_more: false,
      total_count: 1,
      url: `/v1/subscription_items?subscription=${input.id}`,
    },
    latest_invoice: null,
    livemode: false,
    metadata: input.metadata,
    start_date: input.created,
    status: input.trialEnd === null ? "active" : "trialing",
    trial_end: input.trialEnd,
    trial_start: input.trialEnd === null ? null : input.created,
  };
}
