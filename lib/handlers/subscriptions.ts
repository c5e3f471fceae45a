import { shouldReplace } from "../domain/snapshot-order.ts";
import { type SubscriptionFacts, subscriptionFacts } from "../domain/stripe-event.ts";
import { subscriptionMachine } from "../domain/subscription-status.ts";
import { subscriptionsCreated } from "../metrics/registry.ts";
import { storedSnapshot } from "./stored-snapshot.ts";
import { emitFromStripeEvent, type StripeEventContext } from "./stripe-event-context.ts";

// customer.subscription.*: every one carries the whole subscription, so all apply alike: insert on
// first sight, else replace the locked row only with a greater snapshot (forward-only). A
// trial_will_end whose snapshot is not newer therefore changes nothing (it is still audited).

/** Applies any customer.subscription.* event that carries the subscription. */
export async function applySubscriptionEvent(context: StripeEventContext): Promise<void> {
  const { trx, event, log } = context;
  const facts = subscriptionFacts(event);
  const snapshot = {
    customer_id: facts.customerId,
    status: facts.status,
    price_id: facts.priceId,
    current_period_end: facts.currentPeriodEnd === null ? null : new Date(facts.currentPeriodEnd * 1000),
    cancel_at_period_end: facts.cancelAtPeriodEnd,
    event_created: event.created,
    event_id: event.id,
  };
  const inserted = await trx
    .insertInto("subscriptions")
    .values({ subscription_id: facts.subscriptionId, ...snapshot })
    .onConflict((oc) => oc.column("subscription_id").doNothing())
    .returning("subscription_id")
    .executeTakeFirst();
  if (inserted !== undefined) {
    // first sight, whichever event it came with: exactly once per subscription
    await emitFromStripeEvent(context, "subscription.created", facts.subscriptionId, subscriptionData(facts));
    if (facts.status === "canceled") await emitCanceled(context, facts);
    subscriptionsCreated.inc();
    return;
  }

  const current = await trx
    .selectFrom("subscriptions")
    .select(["status", "event_created", "event_id"])
    .where("subscription_id", "=", facts.subscriptionId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const incoming = { status: facts.status, eventCreated: event.created, eventId: event.id };
  if (!shouldReplace(subscriptionMachine, storedSnapshot(subscriptionMachine, current), incoming)) {
    log.debug(
      { subscriptionId: facts.subscriptionId, stored: current.event_id },
      "older snapshot: no change",
    );
    return;
  }
  await trx
    .updateTable("subscriptions")
    .set({ ...snapshot, updated_at: new Date() })
    .where("subscription_id", "=", facts.subscriptionId)
    .execute();
  // each applied snapshot is its own change; a redelivery rebuilds the same id
  await emitFromStripeEvent(context, "subscription.updated", event.id, subscriptionData(facts));
  if (facts.status === "canceled" && current.status !== "canceled") await emitCanceled(context, facts);
}

async function emitCanceled(context: StripeEventContext, facts: SubscriptionFacts): Promise<void> {
  await emitFromStripeEvent(context, "subscription.canceled", facts.subscriptionId, subscriptionData(facts));
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
