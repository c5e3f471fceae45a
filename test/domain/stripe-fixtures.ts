// Stripe events shaped as Stripe (API 2025-08-27.basil) and the emulator send them, as raw JSON
// values. Each builder returns a fresh copy, so tests can mutate one field at a time.

type Json = Record<string, unknown>;

function envelope(id: string, type: string, created: number, object: Json, previous?: Json): Json {
  return {
    id,
    object: "event",
    api_version: "2025-08-27.basil",
    created,
    data: previous === undefined ? { object } : { object, previous_attributes: previous },
    livemode: false,
    pending_webhooks: 1,
    request: { id: "req_Q7d2lT0n9xZs1A", idempotency_key: "billing:cmd-1:confirm" },
    type,
  };
}

export function paymentIntent(status: string, overrides: Json = {}): Json {
  return {
    id: "pi_3QxYz2LkdIwHu7ix0b8Qe1Ab",
    object: "payment_intent",
    amount: 2500,
    amount_capturable: 0,
    amount_received: status === "succeeded" ? 2500 : 0,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: "automatic",
    client_secret: "pi_3QxYz2LkdIwHu7ix0b8Qe1Ab_secret_emulated",
    confirmation_method: "automatic",
    created: 1_760_000_000,
    currency: "usd",
    customer: "cus_RkT0a1b2c3d4e5",
    description: "Deposit",
    last_payment_error: null,
    latest_charge: "ch_3QxYz2LkdIwHu7ix0a1B2c3D",
    livemode: false,
    metadata: { account_id: "acct-42", purpose: "deposit" },
    next_action: null,
    payment_method: "pm_card_visa",
    payment_method_types: ["card"],
    receipt_email: null,
    setup_future_usage: null,
    statement_descriptor: null,
    status,
    ...overrides,
  };
}

export const paymentIntentSucceeded = (): Json =>
  envelope(
    "evt_3QxYz2LkdIwHu7ix1cD4eF5g",
    "payment_intent.succeeded",
    1_760_000_005,
    paymentIntent("succeeded"),
  );

export const paymentIntentPaymentFailed = (): Json =>
  envelope(
    "evt_3QxYz2LkdIwHu7ix1hI8jK9l",
    "payment_intent.payment_failed",
    1_760_000_004,
    paymentIntent("requires_payment_method", {
      last_payment_error: {
        code: "card_declined",
        decline_code: "insufficient_funds",
        message: "Your card has insufficient funds.",
        type: "card_error",
      },
    }),
  );

export const chargeRefunded = (): Json =>
  envelope(
    "evt_3QxYz2LkdIwHu7ix1mN0pQ1r",
    "charge.refunded",
    1_760_000_100,
    {
      id: "ch_3QxYz2LkdIwHu7ix0a1B2c3D",
      object: "charge",
      amount: 2500,
      amount_captured: 2500,
      amount_refunded: 1000,
      balance_transaction: "txn_3QxYz2LkdIwHu7ix0s2T3u4V",
      captured: true,
      created: 1_760_000_004,
      currency: "usd",
      customer: "cus_RkT0a1b2c3d4e5",
      description: "Deposit",
      disputed: false,
      failure_code: null,
      failure_message: null,
      livemode: false,
      metadata: { account_id: "acct-42", purpose: "deposit" },
      paid: true,
      payment_intent: "pi_3QxYz2LkdIwHu7ix0b8Qe1Ab",
      payment_method: "pm_card_visa",
      receipt_email: null,
      refunded: false,
      refunds: { object: "list", data: [], has_more: false, total_count: 1, url: "/v1/charges/ch_x/refunds" },
      status: "succeeded",
    },
    { amount_refunded: 0 },
  );

export function subscription(status: string, overrides: Json = {}): Json {
  return {
    id: "sub_1QxZa3LkdIwHu7ixAbCdEfGh",
    object: "subscription",
    application: null,
    billing_cycle_anchor: 1_760_000_000,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: "charge_automatically",
    created: 1_760_000_000,
    currency: "usd",
    customer: "cus_RkT0a1b2c3d4e5",
    days_until_due: null,
    default_payment_method: "pm_card_visa",
    description: null,
    discounts: [],
    ended_at: null,
    items: {
      object: "list",
      data: [
        {
          id: "si_RkTa1b2c3d4e5f",
          object: "subscription_item",
          billing_thresholds: null,
          created: 1_760_000_000,
          current_period_end: 1_762_678_400,
          current_period_start: 1_760_000_000,
          discounts: [],
          metadata: {},
          price: {
            id: "price_pro_2500",
            object: "price",
            active: true,
            currency: "usd",
            product: "prod_pro_2500",
            recurring: { interval: "month", interval_count: 1, usage_type: "licensed" },
            type: "recurring",
            unit_amount: 2500,
          },
          quantity: 1,
          subscription: "sub_1QxZa3LkdIwHu7ixAbCdEfGh",
          tax_rates: [],
        },
      ],
      has_more: false,
      total_count: 1,
      url: "/v1/subscription_items?subscription=sub_1QxZa3LkdIwHu7ixAbCdEfGh",
    },
    latest_invoice: "in_1QxZa3LkdIwHu7ixIjKlMnOp",
    livemode: false,
    metadata: { account_id: "acct-42" },
    start_date: 1_760_000_000,
    status,
    trial_end: null,
    trial_start: null,
    ...overrides,
  };
}

export const subscriptionUpdated = (): Json =>
  envelope(
    "evt_1QxZa3LkdIwHu7ixQrStUvWx",
    "customer.subscription.updated",
    1_760_000_200,
    subscription("active", { cancel_at_period_end: true, cancel_at: 1_762_678_400 }),
    { cancel_at_period_end: false, cancel_at: null },
  );

export function invoice(status: string, overrides: Json = {}): Json {
  return {
    id: "in_1QxZa3LkdIwHu7ixIjKlMnOp",
    object: "invoice",
    account_country: "US",
    account_name: "billing-fleet emulator",
    amount_due: 2500,
    amount_overpaid: 0,
    amount_paid: status === "paid" ? 2500 : 0,
    amount_remaining: status === "paid" ? 0 : 2500,
    amount_shipping: 0,
    attempt_count: 1,
    attempted: true,
    auto_advance: false,
    billing_reason: "subscription_create",
    collection_method: "charge_automatically",
    created: 1_760_000_000,
    currency: "usd",
    customer: "cus_RkT0a1b2c3d4e5",
    customer_email: "ada@example.com",
    default_payment_method: null,
    description: null,
    discounts: [],
    lines: { object: "list", data: [], has_more: false, total_count: 0, url: "/v1/invoices/in_x/lines" },
    livemode: false,
    metadata: {},
    number: "ABCD1234-0001",
    parent: {
      quote_details: null,
      subscription_details: { metadata: {}, subscription: "sub_1QxZa3LkdIwHu7ixAbCdEfGh" },
      type: "subscription_details",
    },
    period_end: 1_760_000_000,
    period_start: 1_760_000_000,
    starting_balance: 0,
    status,
    status_transitions: {
      finalized_at: 1_760_000_001,
      marked_uncollectible_at: null,
      paid_at: null,
      voided_at: null,
    },
    subtotal: 2500,
    total: 2500,
    ...overrides,
  };
}

export const invoicePaid = (): Json =>
  envelope("evt_1QxZa3LkdIwHu7ixYzAbCdEf", "invoice.paid", 1_760_000_002, invoice("paid"));

export const customerCreated = (): Json =>
  envelope("evt_1QxZa3LkdIwHu7ixGhIjKlMn", "customer.created", 1_759_999_999, {
    id: "cus_RkT0a1b2c3d4e5",
    object: "customer",
    balance: 0,
    created: 1_759_999_999,
    currency: null,
    default_source: null,
    delinquent: false,
    description: null,
    email: "ada@example.com",
    invoice_prefix: "RKT0A1B2",
    livemode: false,
    metadata: { account_id: "acct-42" },
    name: null,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: "none",
    test_clock: null,
  });

const remove = Symbol("remove");
/** Marks a field to delete in `withField`. */
export const absent = remove;

/** A deep copy with one dotted path of `data.object` (or of the envelope, with `$.`) set or removed. */
export function withField(event: Json, path: string, value: unknown): Json {
  const copy = structuredClone(event);
  const keys = path.startsWith("$.") ? path.slice(2).split(".") : ["data", "object", ...path.split(".")];
  let target = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) target = target[k] as Record<string, unknown>;
  const last = keys.at(-1) as string;
  if (value === remove) delete target[last];
  else target[last] = value;
  return copy;
}
