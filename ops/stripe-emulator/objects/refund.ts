import type Stripe from "stripe";

/** A refund as Stripe shapes it. */
export type Refund = Omit<
  Pick<
    Stripe.Refund,
    | "id"
    | "object"
    | "amount"
    | "balance_transaction"
    | "charge"
    | "created"
    | "currency"
    | "metadata"
    | "payment_intent"
    | "reason"
    | "receipt_number"
    | "source_transfer_reversal"
    | "status"
    | "transfer_reversal"
  >,
  "charge" | "payment_intent" | "balance_transaction" | "metadata"
> & {
  charge: string;
  payment_intent: string | null;
  balance_transaction: string;
  metadata: Record<string, string>;
};

/** A refund that succeeded at once, as test-mode card refunds do. */
export function buildRefund(input: {
  id: string;
  created: number;
  amount: number;
  currency: string;
  charge: string;
  paymentIntent: string | null;
  reason: Stripe.Refund.Reason | null;
  balanceTransaction: string;
  metadata: Record<string, string>;
}): Refund {
  return {
    id: input.id,
    object: "refund",
    amount: input.amount,
    balance_transaction: input.balanceTransaction,
    charge: input.charge,
    created: input.created,
    currency: input.currency,
    metadata: input.metadata,
    payment_intent: input.paymentIntent,
    reason: input.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: "succeeded",
    transfer_reversal: null,
  };
}
