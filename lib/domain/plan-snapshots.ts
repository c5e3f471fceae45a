import type { PlanContext } from "./batch-plan.ts";
import { invoiceMachine } from "./invoice-status.ts";
import { shouldReplace } from "./snapshot-order.ts";
import type { InvoiceFacts, StripeEventHead, SubscriptionFacts } from "./stripe-event.ts";
import { subscriptionMachine } from "./subscription-status.ts";

// Subscriptions and invoices: every event carries the whole object, so all apply alike. First
// sight inserts; later the row is replaced only by a greater snapshot (forward-only), so the row
// ends as the maximum of the snapshots seen, whatever their order, within a batch or across them.
// An invoice's attempt_count and amount_paid only grow, so they merge by max: a same-second tie
// broken by event id can never lose a payment attempt.

/** Plans any customer.subscription.* event. */
export function planSubscriptionEvent(
  context: PlanContext,
  event: StripeEventHead,
  facts: SubscriptionFacts,
): void {
  const snapshot = {
    subscriptionId: facts.subscriptionId,
    customerId: facts.customerId,
    status: facts.status,
    priceId: facts.priceId,
    currentPeriodEnd: facts.currentPeriodEnd,
    cancelAtPeriodEnd: facts.cancelAtPeriodEnd,
    eventCreated: event.created,
    eventId: event.id,
  };
  const current = context.subscriptions.get(facts.subscriptionId);
  const data = subscriptionData(facts);
  if (current === undefined) {
    // first sight, whichever event it came with: exactly once per subscription
    context.subscriptions.set(facts.subscriptionId, snapshot);
    context.emit("subscription.created", facts.subscriptionId, data);
    if (facts.status === "canceled") context.emit("subscription.canceled", facts.subscriptionId, data);
    context.counts.subscriptionsCreated += 1;
    return;
  }
  // an older snapshot (e.g. a late trial_will_end) changes nothing; it is still audited
  if (!shouldReplace(subscriptionMachine, current, snapshot)) return;
  context.subscriptions.set(facts.subscriptionId, snapshot);
  // each applied snapshot is its own change; a redelivery rebuilds the same id
  context.emit("subscription.updated", event.id, data);
  if (facts.status === "canceled" && current.status !== "canceled") {
    context.emit("subscription.canceled", facts.subscriptionId, data);
  }
}

/** Plans any invoice.* event. */
export function planInvoiceEvent(context: PlanContext, event: StripeEventHead, facts: InvoiceFacts): void {
  const snapshot = {
    invoiceId: facts.invoiceId,
    customerId: facts.customerId,
    subscriptionId: facts.subscriptionId,
    status: facts.status,
    amountDue: facts.amountDue,
    currency: facts.currency,
    eventCreated: event.created,
    eventId: event.id,
  };
  const current = context.invoices.get(facts.invoiceId);
  if (current === undefined) {
    context.invoices.set(facts.invoiceId, {
      ...snapshot,
      amountPaid: facts.amountPaid,
      attemptCount: facts.attemptCount,
    });
  } else {
    const replace = shouldReplace(invoiceMachine, current, snapshot);
    const amountPaid = Math.max(current.amountPaid, facts.amountPaid);
    const attemptCount = Math.max(current.attemptCount, facts.attemptCount);
    if (replace || amountPaid !== current.amountPaid || attemptCount !== current.attemptCount) {
      context.invoices.set(facts.invoiceId, {
        ...current,
        ...(replace ? snapshot : {}),
        amountPaid,
        attemptCount,
      });
    }
  }

  const data = invoiceData(facts);
  // invoice.paid and invoice.payment_succeeded (and any later snapshot) share one invoice.paid
  if (facts.status === "paid")
    context.emit("invoice.paid", facts.invoiceId, { ...data, amountPaid: facts.amountPaid });
  if (event.type === "invoice.payment_failed") {
    // one event per failed attempt, whichever Stripe event reports it
    context.emit("invoice.payment_failed", `${facts.invoiceId}:attempt:${facts.attemptCount}`, {
      ...data,
      attemptCount: facts.attemptCount,
    });
  }
}

function subscriptionData(facts: SubscriptionFacts): Record<string, unknown> {
  return {
    subscriptionId: facts.subscriptionId,
    customerId: facts.customerId,
    status: facts.status,
    priceId: facts.priceId,
    currentPeriodEnd:
      facts.currentPeriodEnd === null ? null : new Date(facts.currentPeriodEnd * 1000).toISOString(),
    cancelAtPeriodEnd: facts.cancelAtPeriodEnd,
  };
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
