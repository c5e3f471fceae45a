import { PermanentError, TransientError } from "../domain/errors.ts";
import { ledgerSourceId, refundDelta } from "../domain/ledger.ts";
import { formatMoney } from "../domain/money.ts";
import { chargeRefundFacts } from "../domain/stripe-event.ts";
import { postLedgerEntry } from "./post-ledger-entry.ts";
import { emitFromStripeEvent, type StripeEventContext } from "./stripe-event-context.ts";

// charge.refunded carries the charge's CUMULATIVE amount_refunded. The payments row remembers how
// much was already debited; only the increase is debited, under the payment's row lock, with a
// ledger source per cumulative amount: refunds seen in any order, or twice, debit max() in total.

/** Applies charge.refunded: debits the deposit's account by the newly refunded amount, once. */
export async function applyChargeRefunded(context: StripeEventContext): Promise<void> {
  const { trx, event, log } = context;
  const facts = chargeRefundFacts(event);
  const { paymentIntentId, chargeId, amountRefunded, currency } = facts;

  // Lock order: the payments row first, then (in postLedgerEntry) the account row.
  const payment = await trx
    .selectFrom("payments")
    .select(["account_id", "amount_refunded"])
    .where("payment_intent_id", "=", paymentIntentId)
    .forUpdate()
    .executeTakeFirst();
  if (payment === undefined) {
    throw new TransientError(
      "out_of_order",
      `charge.refunded ${chargeId}: payment ${paymentIntentId} not applied yet (retried until it is)`,
    );
  }
  const credit = await trx
    .selectFrom("ledger_entries")
    .select(["account_id", "currency", "amount"])
    .where("kind", "=", "deposit_credit")
    .where("source_id", "=", ledgerSourceId("deposit_credit", paymentIntentId))
    .executeTakeFirst();
  if (credit === undefined) {
    if (payment.account_id === null) {
      log.debug({ paymentIntentId, chargeId }, "refund of a payment that credited no account: no effect");
      return;
    }
    // a deposit refunded before its payment_intent.succeeded was applied
    throw new TransientError(
      "out_of_order",
      `charge.refunded ${chargeId}: deposit ${paymentIntentId} not credited yet (retried until it is)`,
    );
  }
  if (credit.currency !== currency) {
    throw new PermanentError(
      "currency_mismatch",
      `charge.refunded ${chargeId}: refund in ${currency}, deposit ${paymentIntentId} credited ${credit.currency}`,
    );
  }
  if (amountRefunded > credit.amount) {
    throw new PermanentError(
      "invalid_event",
      `charge.refunded ${chargeId}: refunded ${formatMoney(amountRefunded, currency)} exceeds the ` +
        `${formatMoney(credit.amount, currency)} credited for ${paymentIntentId}`,
    );
  }

  const delta = refundDelta(payment.amount_refunded, amountRefunded);
  if (delta === 0) {
    log.debug({ paymentIntentId, amountRefunded }, "refund already debited (or an older one): no effect");
    return;
  }
  const sourceId = ledgerSourceId("refund_debit", paymentIntentId, amountRefunded);
  const posting = await postLedgerEntry(trx, {
    accountId: credit.account_id,
    currency,
    kind: "refund_debit",
    sourceId,
    amount: delta,
  });
  if (posting.outcome === "insufficient_funds") {
    // the account spent the deposit: ops decides (the DLQ shows this message)
    throw new PermanentError(
      "insufficient_funds",
      `charge.refunded ${chargeId}: debiting ${formatMoney(delta, currency)} from account ` +
        `${credit.account_id} would take its balance of ${formatMoney(posting.balance, currency)} below zero`,
    );
  }
  await trx
    .updateTable("payments")
    .set({ amount_refunded: amountRefunded, updated_at: new Date() })
    .where("payment_intent_id", "=", paymentIntentId)
    .execute();
  if (posting.outcome === "duplicate") return;
  log.debug({ accountId: credit.account_id, amount: delta, currency }, "refund debited");
  await emitFromStripeEvent(context, "balance.debited", sourceId, {
    accountId: credit.account_id,
    currency,
    amount: delta,
    balance: posting.balance,
    reason: "refund",
    paymentIntentId,
    chargeId,
    amountRefunded,
  });
}
