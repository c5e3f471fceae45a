import type Stripe from "stripe";
import type { ListObject } from "./list.ts";
import type { Refund } from "./refund.ts";

/** A charge as Stripe shapes it; `refunds` lists its refunds. */
export type Charge = Omit<
  Pick<
    Stripe.Charge,
    | "id"
    | "object"
    | "amount"
    | "amount_captured"
    | "amount_refunded"
    | "balance_transaction"
    | "captured"
    | "created"
    | "currency"
    | "customer"
    | "description"
    | "disputed"
    | "failure_code"
    | "failure_message"
    | "livemode"
    | "metadata"
    | "paid"
    | "payment_intent"
    | "payment_method"
    | "receipt_email"
    | "refunded"
    | "status"
  >,
  "customer" | "payment_intent" | "balance_transaction" | "refunds"
> & {
  customer: string | null;
  payment_intent: string | null;
  balance_transaction: string | null;
  refunds: ListObject<Refund>;
};

/** A charge for a confirmed PaymentIntent: succeeded, or failed with the decline's code and message. */
export function buildCharge(input: {
  id: string;
  created: number;
  amount: number;
  currency: string;
  customer: string | null;
  description: string | null;
  paymentIntent: string;
  paymentMethod: string;
  metadata: Record<string, string>;
  balanceTransaction: string | null;
  failure: { code: string; message: string } | null;
}): Charge {
  const succeeded = input.failure === null;
  return {
    id: input.id,
    object: "charge",
    amount: input.amount,
    amount_captured: succeeded ? input.amount : 0,
    amount_refunded: 0,
    balance_transaction: input.balanceTransaction,
    captured: succeeded,
    created: input.created,
    currency: input.currency,
    customer: input.customer,
    description: input.description,
    disputed: false,
    failure_code: input.failure?.code ?? null,
    failure_message: input.failure?.message ?? null,
    livemode: false,
    metadata: input.metadata,
    paid: succeeded,
    payment_intent: input.paymentIntent,
    payment_method: input.paymentMethod,
    receipt_email: null,
    refunded: false,
    refunds: {
      object: "list",
      data: [],
      has_more: false,
      total_count: 0,
      url: `/v1/charges/${input.id}/refunds`,
    },
    status: succeeded ? "succeeded" : "failed",
  };
}
