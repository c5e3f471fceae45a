import type { Insertable, Transaction } from "kysely";
import type { Database } from "../db/schema/database.ts";
import type { StripeEventsTable } from "../db/schema/stripe-events.ts";
import { PermanentError } from "../domain/errors.ts";
import { parseStripeEvent } from "../domain/stripe-event.ts";
import { unknownStripeEvents } from "../metrics/registry.ts";
import type { Handler } from "./context.ts";
import { applyCustomerCreated } from "./customers.ts";
import { applyInvoiceEvent } from "./invoices.ts";
import { applyPaymentIntentEvent } from "./payments.ts";
import { applyChargeRefunded } from "./refunds.ts";
import type { StripeEventHandler } from "./stripe-event-context.ts";
import { applySubscriptionEvent } from "./subscriptions.ts";

// Every Stripe event is audited in stripe_events, then applied by its family's handler, all in the
// consumer's transaction (which also holds the inbox row). The table below is the list of types
// billing applies; any other type is acknowledged, counted and audited, with no effect.

const stripeEventHandlers = {
  "payment_intent.created": applyPaymentIntentEvent,
  "payment_intent.processing": applyPaymentIntentEvent,
  "payment_intent.requires_action": applyPaymentIntentEvent,
  "payment_intent.amount_capturable_updated": applyPaymentIntentEvent,
  "payment_intent.succeeded": applyPaymentIntentEvent,
  "payment_intent.payment_failed": applyPaymentIntentEvent,
  "payment_intent.canceled": applyPaymentIntentEvent,
  "charge.refunded": applyChargeRefunded,
  "customer.subscription.created": applySubscriptionEvent,
  "customer.subscription.updated": applySubscriptionEvent,
  "customer.subscription.deleted": applySubscriptionEvent,
  "customer.subscription.trial_will_end": applySubscriptionEvent,
  "customer.subscription.paused": applySubscriptionEvent,
  "customer.subscription.resumed": applySubscriptionEvent,
  "invoice.created": applyInvoiceEvent,
  "invoice.finalized": applyInvoiceEvent,
  "invoice.updated": applyInvoiceEvent,
  "invoice.paid": applyInvoiceEvent,
  "invoice.payment_succeeded": applyInvoiceEvent,
  "invoice.payment_failed": applyInvoiceEvent,
  "invoice.marked_uncollectible": applyInvoiceEvent,
  "invoice.voided": applyInvoiceEvent,
  "customer.created": applyCustomerCreated,
} as const satisfies Record<string, StripeEventHandler>;

export type AppliedStripeEventType = keyof typeof stripeEventHandlers;

/** The Stripe event types that have an effect (every other type is audited only). */
export const appliedStripeEventTypes = Object.freeze(
  Object.keys(stripeEventHandlers),
) as readonly AppliedStripeEventType[];

function isApplied(type: string): type is AppliedStripeEventType {
  // own keys only: "toString" or "constructor" must not find Object.prototype
  return Object.hasOwn(stripeEventHandlers, type);
}

/** Writes audit rows; an event id already there (or twice) is one row. */
export async function writeStripeEvents(
  trx: Transaction<Database>,
  rows: readonly Insertable<StripeEventsTable>[],
): Promise<void> {
  if (rows.length === 0) return;
  await trx
    .insertInto("stripe_events")
    .values([...rows])
    .onConflict((oc) => oc.column("event_id").doNothing())
    .execute();
}

/** Applies a `stripe.*` message: parse, check, audit, then the family handler. */
export const handleStripeEvent: Handler = async (context) => {
  const { trx, message, log, deferred } = context;
  const event = parseStripeEvent(message.body);
  if (event.id !== message.id) {
    throw new PermanentError(
      "invalid_message",
      `message id ${JSON.stringify(message.id)} is not the id of the Stripe event it carries (${event.id})`,
    );
  }
  const audit = {
    event_id: event.id,
    type: event.type,
    event_created: event.created,
    payload: message.body.toString("utf8"),
  };
  if (deferred === undefined) await writeStripeEvents(trx, [audit]);
  else deferred.stripeEvents.push(audit);

  if (!isApplied(event.type)) {
    unknownStripeEvents.inc({ type: event.type });
    log.debug(
      { eventId: event.id, eventType: event.type },
      "no handler for this Stripe event type: audited only",
    );
    return;
  }
  await stripeEventHandlers[event.type]({ ...context, event });
};
