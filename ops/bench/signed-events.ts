import { randomBytes } from "node:crypto";
import { buildInvoice } from "../stripe-emulator/objects/invoice.ts";
import { buildPaymentIntent } from "../stripe-emulator/objects/payment-intent.ts";
import { buildPrice } from "../stripe-emulator/objects/price.ts";
import { buildSubscription } from "../stripe-emulator/objects/subscription.ts";
import { signatureHeader } from "../stripe-emulator/webhook-signature.ts";

// The benchmark's load: real payment_intent.succeeded events shaped like Stripe's (the emulator's
// object builder), each crediting an account through metadata.account_id, so applying one does
// the real work (payment row, ledger entry, balance, outbox).

/** One event ready to send or publish. */
export interface BenchEvent {
  readonly id: string;
  readonly type: string;
  /** The account a deposit credits (a subscription or invoice event: none). */
  readonly accountId: string;
  /** What a deposit credits (0 for other events). */
  readonly amount: number;
  /** The exact JSON bytes, as Stripe would POST them. */
  readonly body: string;
}

/** A factory of distinct events spread over `accounts` accounts; `prefix` keeps runs apart. */
export function benchEvents(options: { prefix?: string; accounts: number }): (index: number) => BenchEvent {
  const prefix = options.prefix ?? randomBytes(4).toString("hex");
  return (index) => {
    const id = `evt_bench_${prefix}_${index}`;
    const accountId = `acct_bench_${index % options.accounts}`;
    const amount = 100 + (index % 97) * 25;
    const created = Math.floor(Date.now() / 1000);
    const intent = buildPaymentIntent({
      id: `pi_bench_${prefix}_${index}`,
      created,
      amount,
      currency: "usd",
      customer: null,
      description: "benchmark deposit",
      paymentMethod: "pm_card_visa",
      automaticPaymentMethods: false,
      receiptEmail: null,
      metadata: { account_id: accountId, purpose: "deposit" },
    });
    const object = {
      ...intent,
      status: "succeeded",
      amount_received: amount,
      latest_charge: `ch_bench_${prefix}_${index}`,
    };
    const type = "payment_intent.succeeded";
    return { id, type, accountId, amount, body: envelope(id, type, created, object) };
  };
}

/**
 * The mixed load of the issue: of every 10 events, 8 deposits (as `benchEvents`), 1
 * customer.subscription.updated and 1 invoice.paid, over `subscriptions` subscriptions and
 * `invoices` invoices that later events move forward (`created` grows with the index from
 * `created`, so every snapshot is newer than the one before it).
 */
export function mixedBenchEvents(options: {
  prefix?: string;
  accounts: number;
  subscriptions: number;
  invoices: number;
  created?: number;
}): (index: number) => BenchEvent {
  const prefix = options.prefix ?? randomBytes(4).toString("hex");
  const deposits = benchEvents({ prefix, accounts: options.accounts });
  const base = options.created ?? Math.floor(Date.now() / 1000);
  const price = buildPrice("price_bench_2500", base);
  return (index) => {
    const created = base + index;
    const slot = index % 10;
    if (slot < 8) return deposits(index);
    const id = `evt_bench_${prefix}_${index}`;
    const customer = `cus_bench_${index % options.accounts}`;
    const object =
      slot === 8
        ? {
            ...buildSubscription({
              id: `sub_bench_${Math.floor(index / 10) % options.subscriptions}`,
              itemId: `si_bench_${index}`,
              created,
              customer,
              price,
              quantity: 1,
              periodEnd: created + 30 * 86_400,
              trialEnd: null,
              defaultPaymentMethod: null,
              description: null,
              metadata: {},
            }),
            // each update moves the subscription on: renewed, or set to cancel at the period end
            cancel_at_period_end: index % 20 === 18,
          }
        : {
            ...buildInvoice({
              id: `in_bench_${Math.floor(index / 10) % options.invoices}`,
              created,
              customer: { id: customer, email: null, name: null },
              currency: "usd",
              collectionMethod: "charge_automatically",
              autoAdvance: true,
              daysUntilDue: null,
              billingReason: "subscription_cycle",
              description: null,
              subscription: null,
              periodStart: created - 30 * 86_400,
              periodEnd: created,
              metadata: {},
            }),
            status: "paid",
            amount_due: 2500,
            amount_paid: 2500,
            attempt_count: 1,
          };
    const type = slot === 8 ? "customer.subscription.updated" : "invoice.paid";
    return { id, type, accountId: customer, amount: 0, body: envelope(id, type, created, object) };
  };
}

/** The load a paced sender sends (and what reads its results back regenerates, by index). */
export function pacedLoad(options: { prefix: string; accounts: number }): (index: number) => BenchEvent {
  return mixedBenchEvents({ ...options, subscriptions: 200, invoices: 200 });
}

/** The JSON of a Stripe event around `object`, as Stripe POSTs it. */
function envelope(id: string, type: string, created: number, object: object): string {
  return JSON.stringify({
    id,
    object: "event",
    api_version: "2025-03-31.basil",
    created,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  });
}

/** The `Stripe-Signature` header for a body, signed now (or at `timestampS`). */
export function sign(secret: string, body: string, timestampS = Math.floor(Date.now() / 1000)): string {
  return signatureHeader(secret, body, timestampS);
}
