import type Stripe from "stripe";

/** A recurring price as Stripe shapes it. */
export type Price = Pick<
  Stripe.Price,
  | "id"
  | "object"
  | "active"
  | "billing_scheme"
  | "created"
  | "currency"
  | "livemode"
  | "lookup_key"
  | "metadata"
  | "nickname"
  | "recurring"
  | "tax_behavior"
  | "type"
  | "unit_amount"
> & { product: string };

export const defaultPriceAmount = 1000;

/**
 * The price the emulator assumes for any `price_…` id: monthly, usd, 1000 — or the amount in minor
 * units named by a trailing `_<digits>` (e.g. `price_pro_2500` costs 2500), so demos can vary plans.
 */
export function buildPrice(id: string, created: number): Price {
  const amount = /_(\d{1,9})$/.exec(id)?.[1];
  return {
    id,
    object: "price",
    active: true,
    billing_scheme: "per_unit",
    created,
    currency: "usd",
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: null,
    product: `prod_${id.slice(6) || "emulated"}`,
    recurring: {
      interval: "month",
      interval_count: 1,
      meter: null,
      trial_period_days: null,
      usage_type: "licensed",
    },
    tax_behavior: "unspecified",
    type: "recurring",
    unit_amount: amount === undefined ? defaultPriceAmount : Number(amount),
  };
}
