import type Stripe from "stripe";

/** A PaymentIntent as Stripe shapes it. */
export type PaymentIntent = Omit<
  Pick<
    Stripe.PaymentIntent,
    | "id"
    | "object"
    | "amount"
    | "amount_capturable"
    | "amount_received"
    | "automatic_payment_methods"
    | "canceled_at"
    | "cancellation_reason"
    | "capture_method"
    | "client_secret"
    | "confirmation_method"
    | "created"
    | "currency"
    | "customer"
    | "description"
    | "last_payment_error"
    | "latest_charge"
    | "livemode"
    | "metadata"
    | "next_action"
    | "payment_method"
    | "payment_method_types"
    | "receipt_email"
    | "setup_future_usage"
    | "statement_descriptor"
    | "status"
  >,
  "customer" | "latest_charge" | "payment_method"
> & { customer: string | null; latest_charge: string | null; payment_method: string | null };

/** A new, unconfirmed PaymentIntent. */
export function buildPaymentIntent(input: {
  id: string;
  created: number;
  amount: number;
  currency: string;
  customer: string | null;
  description: string | null;
  paymentMethod: string | null;
  automaticPaymentMethods: boolean;
  receiptEmail: string | null;
  metadata: Record<string, string>;
}): PaymentIntent {
  return {
    id: input.id,
    object: "payment_intent",
    amount: input.amount,
    amount_capturable: 0,
    amount_received: 0,
    automatic_payment_methods: input.automaticPaymentMethods
      ? { allow_redirects: "always", enabled: true }
      : null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: "automatic",
    client_secret: `${input.id}_secret_emulated`,
    confirmation_method: "automatic",
    created: input.created,
    currency: input.currency,
    customer: input.customer,
    description: input.description,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    metadata: input.metadata,
    next_action: null,
    payment_method: input.paymentMethod,
    payment_method_types: ["card"],
    receipt_email: input.receiptEmail,
    setup_future_usage: null,
    statement_descriptor: null,
    status: input.paymentMethod === null ? "requires_payment_method" : "requires_confirmation",
  };
}
