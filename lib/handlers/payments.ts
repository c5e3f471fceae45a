import type { Transaction } from "kysely";
import type { Database } from "../db/schema/database.ts";
import { ledgerSourceId } from "../domain/ledger.ts";
import { paymentMachine } from "../domain/payment-status.ts";
import { shouldReplace } from "../domain/snapshot-order.ts";
import { type PaymentIntentFacts, paymentIntentFacts, type StripeEvent } from "../domain/stripe-event.ts";
import { paymentProcessing, payments } from "../metrics/registry.ts";
import { postLedgerEntry } from "./post-ledger-entry.ts";
import { storedSnapshot } from "./stored-snapshot.ts";
import { emitFromStripeEvent, type StripeEventContext } from "./stripe-event-context.ts";

// payment_intent.*: the payments row follows the newest snapshot (forward-only, under its row
// lock); a succeeded deposit credits its account once, keyed by the PaymentIntent id.

/** Applies any payment_intent.* event that carries the PaymentIntent. */
export async function applyPaymentIntentEvent(context: StripeEventContext): Promise<void> {
  const { trx, event, log } = context;
  const facts = paymentIntentFacts(event);
  await upsertPayment(trx, event, facts);

  if (event.type === "payment_intent.succeeded") {
    await emitFromStripeEvent(context, "payment.succeeded", facts.paymentIntentId, paymentData(facts));
    if (facts.accountId !== undefined) await creditDeposit(context, facts, facts.accountId);
    else
      log.debug({ paymentIntentId: facts.paymentIntentId }, "succeeded payment names no account: no credit");
    countOutcome(event, "succeeded");
  } else if (event.type === "payment_intent.payment_failed") {
    // each failed attempt is its own fact: keyed by the Stripe event, not the PaymentIntent
    await emitFromStripeEvent(context, "payment.failed", event.id, {
      ...paymentData(facts),
      lastError: facts.lastError ?? null,
    });
    countOutcome(event, "failed");
  }
}

/**
 * First sight inserts; otherwise the locked row is replaced only by a greater snapshot. The
 * amount received only grows, so it is merged by max whatever the order.
 */
async function upsertPayment(
  trx: Transaction<Database>,
  event: StripeEvent,
  facts: PaymentIntentFacts,
): Promise<void> {
  const snapshot = {
    account_id: facts.accountId ?? null,
    amount: facts.amount,
    currency: facts.currency,
    status: facts.status,
    last_error: facts.lastError ?? null,
    event_created: event.created,
    event_id: event.id,
  };
  const inserted = await trx
    .insertInto("payments")
    .values({ payment_intent_id: facts.paymentIntentId, amount_received: facts.amountReceived, ...snapshot })
    .onConflict((oc) => oc.column("payment_intent_id").doNothing())
    .returning("payment_intent_id")
    .executeTakeFirst();
  if (inserted !== undefined) return;

  const current = await trx
    .selectFrom("payments")
    .select(["status", "event_created", "event_id", "amount_received"])
    .where("payment_intent_id", "=", facts.paymentIntentId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const incoming = { status: facts.status, eventCreated: event.created, eventId: event.id };
  const replace = shouldReplace(paymentMachine, storedSnapshot(paymentMachine, current), incoming);
  if (!replace && facts.amountReceived <= current.amount_received) return;
  await trx
    .updateTable("payments")
    .set({
      ...(replace ? snapshot : {}),
      amount_received: Math.max(current.amount_received, facts.amountReceived),
      updated_at: new Date(),
    })
    .where("payment_intent_id", "=", facts.paymentIntentId)
    .execute();
}

// Lock order: the payments row (held since upsertPayment), then the account row.
async function creditDeposit(
  context: StripeEventContext,
  facts: PaymentIntentFacts,
  accountId: string,
): Promise<void> {
  const { trx, log } = context;
  const sourceId = ledgerSourceId("deposit_credit", facts.paymentIntentId);
  const posting = await postLedgerEntry(trx, {
    accountId,
    currency: facts.currency,
    kind: "deposit_credit",
    sourceId,
    amount: facts.amountReceived,
  });
  if (posting.outcome !== "posted") {
    log.debug(
      { paymentIntentId: facts.paymentIntentId, outcome: posting.outcome },
      "deposit already credited",
    );
    return;
  }
  log.debug({ accountId, amount: facts.amountReceived, currency: facts.currency }, "deposit credited");
  await emitFromStripeEvent(context, "balance.credited", sourceId, {
    accountId,
    currency: facts.currency,
    amount: facts.amountReceived,
    balance: posting.balance,
    reason: "deposit",
    paymentIntentId: facts.paymentIntentId,
  });
}

function paymentData(facts: PaymentIntentFacts): Record<string, unknown> {
  return {
    paymentIntentId: facts.paymentIntentId,
    accountId: facts.accountId ?? null,
    amount: facts.amount,
    amountReceived: facts.amountReceived,
    currency: facts.currency,
    status: facts.status,
  };
}

// Counted last, once every write of the event has succeeded (the inbox makes it once per event).
// Processing time runs from the PaymentIntent's creation to the event that settled it (Stripe's clock).
function countOutcome(event: StripeEvent, outcome: "succeeded" | "failed"): void {
  payments.inc({ outcome });
  const created = event.object.created;
  if (typeof created !== "number" || !Number.isSafeInteger(created) || created > event.created) return;
  paymentProcessing.observe(event.created - created);
}
