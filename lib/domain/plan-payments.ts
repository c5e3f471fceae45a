import type { PlanContext } from "./batch-plan.ts";
import type { PaymentState } from "./entity-states.ts";
import { type BillingError, PermanentError, TransientError } from "./errors.ts";
import { ledgerSourceId, refundDelta } from "./ledger.ts";
import { formatMoney } from "./money.ts";
import { paymentMachine } from "./payment-status.ts";
import { shouldReplace } from "./snapshot-order.ts";
import type { ChargeRefundFacts, PaymentIntentFacts, StripeEventHead } from "./stripe-event.ts";

// Where a payment is applied. payment_intent.*: the payment row follows the newest snapshot
// (forward-only); a succeeded deposit credits its account once, keyed by the PaymentIntent id.
// charge.refunded carries the charge's CUMULATIVE amount_refunded: only the increase over what the
// payment row says was debited is debited, with a ledger source per cumulative amount, so refunds
// seen in any order, or twice, debit max() in total.

/** Plans any payment_intent.* event that carries the PaymentIntent. */
export function planPaymentEvent(
  context: PlanContext,
  event: StripeEventHead,
  facts: PaymentIntentFacts,
  objectCreated: number | undefined,
): void {
  const id = facts.paymentIntentId;
  const snapshot = {
    accountId: facts.accountId ?? null,
    amount: facts.amount,
    currency: facts.currency,
    status: facts.status,
    lastError: facts.lastError ?? null,
    eventCreated: event.created,
    eventId: event.id,
  };
  const current = context.payments.get(id);
  if (current === undefined) {
    context.payments.set(id, {
      paymentIntentId: id,
      ...snapshot,
      amountReceived: facts.amountReceived,
      amountRefunded: 0,
    });
  } else {
    const replace = shouldReplace(paymentMachine, current, snapshot);
    if (replace || facts.amountReceived > current.amountReceived) {
      context.payments.set(id, {
        ...current,
        ...(replace ? snapshot : {}),
        amountReceived: Math.max(current.amountReceived, facts.amountReceived),
      });
    }
  }

  if (event.type === "payment_intent.succeeded") {
    context.emit("payment.succeeded", id, paymentData(facts));
    if (facts.accountId !== undefined) creditDeposit(context, facts, facts.accountId);
    context.counts.paymentsSucceeded += 1;
    // processing time: from the PaymentIntent's creation to the event that settled it
    if (objectCreated !== undefined && objectCreated <= event.created) {
      context.counts.paymentProcessingSeconds.push(event.created - objectCreated);
    }
  } else if (event.type === "payment_intent.payment_failed") {
    // each failed attempt is its own fact: keyed by the Stripe event, not the PaymentIntent
    context.emit("payment.failed", event.id, { ...paymentData(facts), lastError: facts.lastError ?? null });
    context.counts.paymentsFailed += 1;
  }
}

function creditDeposit(context: PlanContext, facts: PaymentIntentFacts, accountId: string): void {
  const sourceId = ledgerSourceId("deposit_credit", facts.paymentIntentId);
  const posting = context.book.post({
    accountId,
    currency: facts.currency,
    kind: "deposit_credit",
    sourceId,
    amount: facts.amountReceived,
  });
  // already credited (another event of the same PaymentIntent): nothing more
  if (posting.outcome !== "posted") return;
  context.emit("balance.credited", sourceId, {
    accountId,
    currency: facts.currency,
    amount: facts.amountReceived,
    balance: posting.balance,
    reason: "deposit",
    paymentIntentId: facts.paymentIntentId,
  });
}

/**
 * Plans charge.refunded: debits the deposit's account by the newly refunded amount, once. Returns
 * the error that refuses the event (retried while its payment or credit is missing), having
 * changed nothing, or undefined.
 */
export function planRefund(context: PlanContext, facts: ChargeRefundFacts): BillingError | undefined {
  const { paymentIntentId, chargeId, amountRefunded, currency } = facts;
  const payment = context.payments.get(paymentIntentId);
  if (payment === undefined) {
    return new TransientError(
      "out_of_order",
      `charge.refunded ${chargeId}: payment ${paymentIntentId} not applied yet (retried until it is)`,
    );
  }
  const credit = context.book.entry("deposit_credit", ledgerSourceId("deposit_credit", paymentIntentId));
  if (credit === undefined) {
    // a payment that credited no account: nothing to debit
    if (payment.accountId === null) return undefined;
    return new TransientError(
      "out_of_order",
      `charge.refunded ${chargeId}: deposit ${paymentIntentId} not credited yet (retried until it is)`,
    );
  }
  if (credit.currency !== currency) {
    return new PermanentError(
      "currency_mismatch",
      `charge.refunded ${chargeId}: refund in ${currency}, deposit ${paymentIntentId} credited ${credit.currency}`,
    );
  }
  if (amountRefunded > credit.amount) {
    return new PermanentError(
      "invalid_event",
      `charge.refunded ${chargeId}: refunded ${formatMoney(amountRefunded, currency)} exceeds the ` +
        `${formatMoney(credit.amount, currency)} credited for ${paymentIntentId}`,
    );
  }
  const delta = refundDelta(payment.amountRefunded, amountRefunded);
  // already debited, or an older cumulative amount: no effect
  if (delta === 0) return undefined;

  const sourceId = ledgerSourceId("refund_debit", paymentIntentId, amountRefunded);
  const posting = context.book.post({
    accountId: credit.accountId,
    currency,
    kind: "refund_debit",
    sourceId,
    amount: delta,
  });
  if (posting.outcome === "insufficient_funds") {
    // the account spent the deposit: ops decides (the DLQ shows this message)
    return new PermanentError(
      "insufficient_funds",
      `charge.refunded ${chargeId}: debiting ${formatMoney(delta, currency)} from account ` +
        `${credit.accountId} would take its balance of ${formatMoney(posting.balance, currency)} below zero`,
    );
  }
  context.payments.set(paymentIntentId, { ...payment, amountRefunded } satisfies PaymentState);
  if (posting.outcome === "duplicate") return undefined;
  context.emit("balance.debited", sourceId, {
    accountId: credit.accountId,
    currency,
    amount: delta,
    balance: posting.balance,
    reason: "refund",
    paymentIntentId,
    chargeId,
    amountRefunded,
  });
  return undefined;
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
