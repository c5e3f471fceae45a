import { randomBytes } from "node:crypto";
import { buildPaymentIntent } from "../stripe-emulator/objects/payment-intent.ts";
import { signatureHeader } from "../stripe-emulator/webhook-signature.ts";

// The benchmark's load: real payment_intent.succeeded events shaped like Stripe's (the emulator's
// object builder), each crediting an account through metadata.account_id, so applying one does
// the real work (payment row, ledger entry, balance, outbox).

/** One event ready to send or publish. */
export interface BenchEvent {
  readonly id: string;
  readonly accountId: string;
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
    const event = {
      id,
      object: "event",
      api_version: "2025-03-31.basil",
      created,
      data: { object },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: "payment_intent.succeeded",
    };
    return { id, accountId, amount, body: JSON.stringify(event) };
  };
}

/** The `Stripe-Signature` header for a body, signed now (or at `timestampS`). */
export function sign(secret: string, body: string, timestampS = Math.floor(Date.now() / 1000)): string {
  return signatureHeader(secret, body, timestampS);
}
