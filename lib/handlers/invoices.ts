import { invoiceMachine } from "../domain/invoice-status.ts";
import { shouldReplace } from "../domain/snapshot-order.ts";
import { type InvoiceFacts, invoiceFacts } from "../domain/stripe-event.ts";
import { storedSnapshot } from "./stored-snapshot.ts";
import { emitFromStripeEvent, type StripeEventContext } from "./stripe-event-context.ts";

// invoice.*: the row follows the greatest snapshot under its row lock (forward-only). attempt_count
// and amount_paid only grow, so they merge by max: a same-second tie broken by event id can never
// lose a payment attempt.

/** Applies any invoice.* event that carries the invoice. */
export async function applyInvoiceEvent(context: StripeEventContext): Promise<void> {
  const { trx, event, log } = context;
  const facts = invoiceFacts(event);
  const snapshot = {
    customer_id: facts.customerId,
    subscription_id: facts.subscriptionId,
    status: facts.status,
    amount_due: facts.amountDue,
    currency: facts.currency,
    event_created: event.created,
    event_id: event.id,
  };
  const inserted = await trx
    .insertInto("invoices")
    .values({
      invoice_id: facts.invoiceId,
      amount_paid: facts.amountPaid,
      attempt_count: facts.attemptCount,
      ...snapshot,
    })
    .onConflict((oc) => oc.column("invoice_id").doNothing())
    .returning("invoice_id")
    .executeTakeFirst();

  if (inserted === undefined) {
    const current = await trx
      .selectFrom("invoices")
      .select(["status", "event_created", "event_id", "amount_paid", "attempt_count"])
      .where("invoice_id", "=", facts.invoiceId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const incoming = { status: facts.status, eventCreated: event.created, eventId: event.id };
    const replace = shouldReplace(invoiceMachine, storedSnapshot(invoiceMachine, current), incoming);
    const amountPaid = Math.max(current.amount_paid, facts.amountPaid);
    const attemptCount = Math.max(current.attempt_count, facts.attemptCount);
    if (replace || amountPaid !== current.amount_paid || attemptCount !== current.attempt_count) {
      await trx
        .updateTable("invoices")
        .set({
          ...(replace ? snapshot : {}),
          amount_paid: amountPaid,
          attempt_count: attemptCount,
          updated_at: new Date(),
        })
        .where("invoice_id", "=", facts.invoiceId)
        .execute();
    } else {
      log.debug({ invoiceId: facts.invoiceId, stored: current.event_id }, "older snapshot: no change");
    }
  }

  // invoice.paid and invoice.payment_succeeded (and any later snapshot) share one invoice.paid
  if (facts.status === "paid") {
    await emitFromStripeEvent(context, "invoice.paid", facts.invoiceId, {
      ...invoiceData(facts),
      amountPaid: facts.amountPaid,
    });
  }
  if (event.type === "invoice.payment_failed") {
    // one event per failed attempt, whichever Stripe event reports it
    await emitFromStripeEvent(
      context,
      "invoice.payment_failed",
      `${facts.invoiceId}:attempt:${facts.attemptCount}`,
      { ...invoiceData(facts), attemptCount: facts.attemptCount },
    );
  }
}

function invoiceData(facts: InvoiceFacts): Record<string, unknown> {
  return {
    invoiceId: facts.invoiceId,
    customerId: facts.customerId,
    subscriptionId: facts.subscriptionId,
    status: facts.status,
    amountDue: facts.amountDue,
    currency: facts.currency,
  };
}
