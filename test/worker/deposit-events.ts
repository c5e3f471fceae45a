import { buildPaymentIntent } from "../../ops/stripe-emulator/objects/payment-intent.ts";

// Real payment_intent.succeeded events (the emulator's object builder) that each credit an account
// through metadata.account_id: applying one writes a payment, a ledger entry, a balance and an
// outbox row, so "applied exactly once" can be read off the balances.

export interface DepositEvent {
  readonly id: string;
  readonly accountId: string;
  readonly amount: number;
  readonly body: string;
}

/** The `index`-th deposit of a run named `prefix`, spread over `accounts` accounts. */
export function depositEvent(prefix: string, index: number, accounts = 5): DepositEvent {
  const id = `evt_${prefix}_${index}`;
  const accountId = `acct_${prefix}_${index % accounts}`;
  const amount = 100 + (index % 13) * 10;
  const created = Math.floor(Date.now() / 1000);
  const intent = buildPaymentIntent({
    id: `pi_${prefix}_${index}`,
    created,
    amount,
    currency: "usd",
    customer: null,
    description: "test deposit",
    paymentMethod: "pm_card_visa",
    automaticPaymentMethods: false,
    receiptEmail: null,
    metadata: { account_id: accountId, purpose: "deposit" },
  });
  const event = {
    id,
    object: "event",
    api_version: "2025-03-31.basil",
    created,
    data: { object: { ...intent, status: "succeeded", amount_received: amount } },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: "payment_intent.succeeded",
  };
  return { id, accountId, amount, body: JSON.stringify(event) };
}

/** What each account's balance must be once `events` were applied exactly once. */
export function expectedBalances(events: readonly DepositEvent[]): Map<string, number> {
  const balances = new Map<string, number>();
  for (const event of events)
    balances.set(event.accountId, (balances.get(event.accountId) ?? 0) + event.amount);
  return balances;
}
