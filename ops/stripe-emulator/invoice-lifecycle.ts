import type Stripe from "stripe";
import { type Emitter, emit } from "./emit.ts";
import { newId } from "./ids.ts";
import type { Customer } from "./objects/customer.ts";
import { addLine, buildInvoice, type Invoice, lineFromSubscription } from "./objects/invoice.ts";
import type { Subscription } from "./objects/subscription.ts";
import { now } from "./store.ts";
import type { CardOutcome } from "./test-cards.ts";

// An invoice moves draft → open (finalized) → paid, or stays open while payment attempts fail.
// Each step emits its event with the invoice as it is at that moment.

const retryAfterFailureS = 3 * 86_400;

/** A new draft invoice, stored but not yet announced (callers add lines, then emit invoice.created). */
export function draftInvoice(
  emitter: Emitter,
  input: Omit<Parameters<typeof buildInvoice>[0], "id" | "created" | "customer"> & { customer: Customer },
): Invoice {
  const { customer } = input;
  const invoice = buildInvoice({
    ...input,
    id: newId("in"),
    created: now(emitter.store),
    customer: { id: customer.id, email: customer.email, name: customer.name ?? null },
  });
  emitter.store.invoices.set(invoice.id, invoice);
  return invoice;
}

/** draft → open with a number → invoice.finalized; an invoice for nothing is paid at once, as at Stripe. */
export function finalizeInvoice(emitter: Emitter, invoice: Invoice): void {
  const customer = emitter.store.customers.get(invoice.customer);
  let sequence: number;
  if (customer === undefined) sequence = ++emitter.store.invoiceSequence;
  else {
    sequence = customer.next_invoice_sequence ?? 1;
    customer.next_invoice_sequence = sequence + 1;
  }
  const at = now(emitter.store);
  invoice.status = "open";
  invoice.number = `${customer?.invoice_prefix ?? "EMU"}-${String(sequence).padStart(4, "0")}`;
  invoice.status_transitions.finalized_at = at;
  invoice.effective_at = at;
  invoice.amount_remaining = invoice.amount_due - invoice.amount_paid;
  emit(emitter, "invoice.finalized", invoice);
  if (invoice.amount_due === 0) payInvoice(emitter, invoice, { outOfBand: false });
}

/** open → paid → invoice.paid, and invoice.payment_succeeded unless it was paid outside Stripe. */
export function payInvoice(emitter: Emitter, invoice: Invoice, options: { outOfBand: boolean }): void {
  invoice.status = "paid";
  invoice.amount_paid = invoice.amount_due;
  invoice.amount_remaining = 0;
  if (!options.outOfBand) {
    invoice.attempt_count += 1;
    invoice.attempted = true;
  }
  invoice.next_payment_attempt = null;
  invoice.status_transitions.paid_at = now(emitter.store);
  emit(emitter, "invoice.paid", invoice);
  if (!options.outOfBand) emit(emitter, "invoice.payment_succeeded", invoice);
}

/** A failed attempt: attempt_count + 1, a retry scheduled → invoice.payment_failed. */
export function failInvoicePayment(emitter: Emitter, invoice: Invoice): void {
  invoice.attempt_count += 1;
  invoice.attempted = true;
  invoice.next_payment_attempt = now(emitter.store) + retryAfterFailureS;
  emit(emitter, "invoice.payment_failed", invoice);
}

/** A draft invoice for the subscription's current period, named as its latest invoice; not yet announced. */
export function draftSubscriptionInvoice(
  emitter: Emitter,
  subscription: Subscription,
  billingReason: Stripe.Invoice.BillingReason,
): Invoice {
  const customer = emitter.store.customers.get(subscription.customer);
  const item = subscription.items.data[0];
  if (customer === undefined || item === undefined) {
    throw new Error(`subscription ${subscription.id} lost its customer or item`);
  }
  const invoice = draftInvoice(emitter, {
    customer,
    currency: subscription.currency,
    collectionMethod: "charge_automatically",
    autoAdvance: true,
    daysUntilDue: null,
    billingReason,
    description: null,
    subscription,
    periodStart: item.current_period_start,
    periodEnd: item.current_period_end,
    metadata: {},
  });
  addLine(invoice, lineFromSubscription(newId("il"), invoice.id, subscription));
  subscription.latest_invoice = invoice.id;
  return invoice;
}

/**
 * Announces and collects a subscription invoice: invoice.created, invoice.finalized, then paid or
 * failed (the emulator's card works unless `outcome` says otherwise).
 */
export function collectSubscriptionInvoice(emitter: Emitter, invoice: Invoice, outcome: CardOutcome): void {
  emit(emitter, "invoice.created", invoice);
  finalizeInvoice(emitter, invoice);
  if (invoice.status !== "open") return;
  if (outcome.ok) payInvoice(emitter, invoice, { outOfBand: false });
  else failInvoicePayment(emitter, invoice);
}

/** Bills the subscription's current period at once (draft, then collect). */
export function billSubscriptionPeriod(
  emitter: Emitter,
  subscription: Subscription,
  billingReason: Stripe.Invoice.BillingReason,
  outcome: CardOutcome,
): Invoice {
  const invoice = draftSubscriptionInvoice(emitter, subscription, billingReason);
  collectSubscriptionInvoice(emitter, invoice, outcome);
  return invoice;
}
