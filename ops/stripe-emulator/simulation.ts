import { type Emitter, emit } from "./emit.ts";
import {
  billSubscriptionPeriod,
  collectSubscriptionInvoice,
  draftSubscriptionInvoice,
  failInvoicePayment,
  payInvoice,
} from "./invoice-lifecycle.ts";
import type { Invoice } from "./objects/invoice.ts";
import type { Subscription } from "./objects/subscription.ts";
import { addMonth } from "./periods.ts";
import { endSubscription } from "./resources/subscriptions.ts";
import { now } from "./store.ts";
import { invalidRequest } from "./stripe-error.ts";

// What Stripe does on its own clock (renewals, retries, trial ends), done on demand for tests, the
// demo and the benchmark. Not Stripe API: served under /_emulator/.

/** What a simulation step answers with. */
export interface SimulationResult {
  subscription: Subscription;
  invoice: Invoice | null;
}

/**
 * The period ends: an active subscription renews (period advances, a new invoice is paid:
 * invoice.created/.finalized/.paid/.payment_succeeded, then customer.subscription.updated); one set to
 * cancel at period end is deleted; a past_due one pays its open invoice and is active again; a
 * trialing one ends its trial.
 */
export function renewSubscription(emitter: Emitter, subscription: Subscription): SimulationResult {
  assertNotCanceled(subscription);
  if (subscription.status === "trialing") return endTrial(emitter, subscription, false);
  if (subscription.cancel_at_period_end) {
    endSubscription(emitter, subscription);
    return { subscription, invoice: null };
  }
  const open = openLatestInvoice(emitter, subscription);
  const before = snapshot(subscription);
  let invoice: Invoice;
  if (open !== null) {
    payInvoice(emitter, open, { outOfBand: false });
    invoice = open;
  } else {
    advancePeriod(subscription, currentPeriodEnd(subscription));
    invoice = billSubscriptionPeriod(emitter, subscription, "subscription_cycle", { ok: true });
  }
  subscription.status = "active";
  emitUpdated(emitter, subscription, before);
  return { subscription, invoice };
}

/**
 * The renewal payment fails: a new period's invoice (or the open one, retried) records a failed
 * attempt (invoice.payment_failed, attempt_count + 1) and the subscription turns past_due
 * (customer.subscription.updated when its status changes).
 */
export function failSubscriptionPayment(emitter: Emitter, subscription: Subscription): SimulationResult {
  assertNotCanceled(subscription);
  const before = snapshot(subscription);
  let invoice = openLatestInvoice(emitter, subscription);
  if (invoice !== null) {
    failInvoicePayment(emitter, invoice);
  } else {
    const trialing = subscription.status === "trialing";
    const start = trialing ? now(emitter.store) : currentPeriodEnd(subscription);
    if (trialing) subscription.trial_end = start;
    advancePeriod(subscription, start);
    invoice = draftSubscriptionInvoice(emitter, subscription, "subscription_cycle");
    collectSubscriptionInvoice(emitter, invoice, {
      ok: false,
      code: "card_declined",
      declineCode: "generic_decline",
      message: "Your card was declined.",
    });
  }
  // A first payment that never succeeded leaves the subscription incomplete, as at Stripe.
  if (subscription.status !== "incomplete") subscription.status = "past_due";
  emitUpdated(emitter, subscription, before);
  return { subscription, invoice };
}

/** The trial ends: customer.subscription.trial_will_end, then active with its first period paid. */
export function endSubscriptionTrial(emitter: Emitter, subscription: Subscription): SimulationResult {
  assertNotCanceled(subscription);
  if (subscription.status !== "trialing") {
    throw invalidRequest(`Subscription ${subscription.id} is ${subscription.status}, not trialing.`);
  }
  return endTrial(emitter, subscription, true);
}

function endTrial(emitter: Emitter, subscription: Subscription, warn: boolean): SimulationResult {
  if (warn) emit(emitter, "customer.subscription.trial_will_end", subscription);
  const before = snapshot(subscription);
  const at = now(emitter.store);
  subscription.trial_end = at;
  subscription.billing_cycle_anchor = at;
  advancePeriod(subscription, at);
  const invoice = billSubscriptionPeriod(emitter, subscription, "subscription_cycle", { ok: true });
  subscription.status = "active";
  emitUpdated(emitter, subscription, before);
  return { subscription, invoice };
}

function advancePeriod(subscription: Subscription, start: number): void {
  for (const item of subscription.items.data) {
    item.current_period_start = start;
    item.current_period_end = addMonth(start);
  }
}

function currentPeriodEnd(subscription: Subscription): number {
  return subscription.items.data[0]?.current_period_end ?? 0;
}

function openLatestInvoice(emitter: Emitter, subscription: Subscription): Invoice | null {
  const id = subscription.latest_invoice;
  const invoice = id === null ? undefined : emitter.store.invoices.get(id);
  return invoice?.status === "open" ? invoice : null;
}

function assertNotCanceled(subscription: Subscription): void {
  if (subscription.status === "canceled") {
    throw invalidRequest(`Subscription ${subscription.id} is canceled.`);
  }
}

interface Snapshot {
  status: Subscription["status"];
  latest_invoice: string | null;
  trial_end: number | null;
  items: string;
}

function snapshot(subscription: Subscription): Snapshot {
  return {
    status: subscription.status,
    latest_invoice: subscription.latest_invoice,
    trial_end: subscription.trial_end,
    items: JSON.stringify(subscription.items),
  };
}

/** customer.subscription.updated with Stripe-style previous_attributes, only when something changed. */
function emitUpdated(emitter: Emitter, subscription: Subscription, before: Snapshot): void {
  const previous: Record<string, unknown> = {};
  if (before.status !== subscription.status) previous.status = before.status;
  if (before.latest_invoice !== subscription.latest_invoice) previous.latest_invoice = before.latest_invoice;
  if (before.trial_end !== subscription.trial_end) previous.trial_end = before.trial_end;
  if (before.items !== JSON.stringify(subscription.items)) previous.items = JSON.parse(before.items);
  if (Object.keys(previous).length > 0)
    emit(emitter, "customer.subscription.updated", subscription, previous);
}
