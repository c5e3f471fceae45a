import type { ApiContext } from "../api-context.ts";
import { pathId } from "../api-context.ts";
import { emit } from "../emit.ts";
import { newId } from "../ids.ts";
import { collectSubscriptionInvoice, draftSubscriptionInvoice } from "../invoice-lifecycle.ts";
import { pageNewestFirst, readPageRequest } from "../listing.ts";
import { buildList } from "../objects/list.ts";
import { buildSubscription, type Subscription } from "../objects/subscription.ts";
import {
  mergeMetadata,
  metadataParam,
  optionalArray,
  optionalBoolean,
  optionalInteger,
  optionalString,
  requiredString,
} from "../params.ts";
import { addMonth } from "../periods.ts";
import { addToIndex, now, type Store } from "../store.ts";
import { invalidRequest, resourceMissing } from "../stripe-error.ts";
import { cardOutcome } from "../test-cards.ts";
import { customerOrThrow } from "./customers.ts";
import { priceOrThrow } from "./prices.ts";

/** A stored subscription, or resource_missing naming `param`. */
export function subscriptionOrThrow(
  store: Store,
  id: string,
  param: string,
  status: 400 | 404,
): Subscription {
  const subscription = store.subscriptions.get(id);
  if (subscription === undefined) throw resourceMissing("subscription", id, param, status);
  return subscription;
}

/**
 * POST /v1/subscriptions (customer, items[0][price], items[0][quantity]?, trial_period_days?,
 * default_payment_method?, metadata) → customer.subscription.created; without a trial the first
 * period is billed at once (invoice.created, .finalized, .paid, .payment_succeeded).
 */
export function createSubscription(context: ApiContext): Subscription {
  const { store, params } = context;
  const customer = customerOrThrow(store, requiredString(params, "customer"), "customer", 400);
  const items = optionalArray(params, "items") ?? [];
  const [item, ...others] = items;
  if (item === undefined || typeof item !== "object" || Array.isArray(item)) {
    throw invalidRequest("Missing required param: items.", "items", "parameter_missing");
  }
  if (others.length > 0) throw invalidRequest("The emulator supports one subscription item.", "items[1]");
  const price = priceOrThrow(store, requiredString(item, "price"), "items[0][price]", 400);
  const quantity = optionalInteger(item, "quantity") ?? 1;
  if (quantity < 1)
    throw invalidRequest("This value must be greater than or equal to 1.", "items[0][quantity]");
  const trialDays = optionalInteger(params, "trial_period_days");
  if (trialDays !== undefined && (trialDays < 0 || trialDays > 730)) {
    throw invalidRequest("trial_period_days must be between 0 and 730.", "trial_period_days");
  }
  const created = now(store);
  const trialEnd = trialDays === undefined || trialDays === 0 ? null : created + trialDays * 86_400;
  const defaultPaymentMethod = optionalString(params, "default_payment_method") ?? null;
  const subscription = buildSubscription({
    id: newId("sub"),
    itemId: newId("si"),
    created,
    customer: customer.id,
    price,
    quantity,
    periodEnd: trialEnd ?? addMonth(created),
    trialEnd,
    defaultPaymentMethod,
    description: optionalString(params, "description") ?? null,
    metadata: mergeMetadata({}, metadataParam(params)),
  });
  store.subscriptions.set(subscription.id, subscription);
  addToIndex(store.subscriptionsByCustomer, customer.id, subscription.id);
  if (trialEnd !== null) {
    emit(context, "customer.subscription.created", subscription);
    return subscription;
  }
  // Stripe's created event already names the first invoice; a declined first payment leaves the
  // subscription incomplete.
  const outcome = cardOutcome(defaultPaymentMethod ?? "");
  if (!outcome.ok) subscription.status = "incomplete";
  const invoice = draftSubscriptionInvoice(context, subscription, "subscription_create");
  emit(context, "customer.subscription.created", subscription);
  collectSubscriptionInvoice(context, invoice, outcome);
  return subscription;
}

/** POST /v1/subscriptions/:id (cancel_at_period_end, metadata, description) → customer.subscription.updated. */
export function updateSubscription(context: ApiContext): Subscription {
  const { store, params } = context;
  const subscription = subscriptionOrThrow(store, pathId(context), "subscription_exposed_id", 404);
  const cancelAtPeriodEnd = optionalBoolean(params, "cancel_at_period_end");
  const description = optionalString(params, "description");
  if (subscription.status === "canceled" && (cancelAtPeriodEnd !== undefined || description !== undefined)) {
    throw invalidRequest("A canceled subscription can only update its cancellation_details and metadata.");
  }
  const previous: Record<string, unknown> = {};
  if (cancelAtPeriodEnd !== undefined && cancelAtPeriodEnd !== subscription.cancel_at_period_end) {
    Object.assign(previous, {
      cancel_at_period_end: subscription.cancel_at_period_end,
      cancel_at: subscription.cancel_at,
      canceled_at: subscription.canceled_at,
      cancellation_details: subscription.cancellation_details,
    });
    subscription.cancel_at_period_end = cancelAtPeriodEnd;
    subscription.cancel_at = cancelAtPeriodEnd
      ? (subscription.items.data[0]?.current_period_end ?? null)
      : null;
    subscription.canceled_at = cancelAtPeriodEnd ? now(store) : null;
    setCancellationReason(subscription, cancelAtPeriodEnd ? "cancellation_requested" : null);
  }
  if (description !== undefined && description !== subscription.description) {
    previous.description = subscription.description;
    subscription.description = description;
  }
  const metadata = mergeMetadata(subscription.metadata, metadataParam(params));
  if (JSON.stringify(metadata) !== JSON.stringify(subscription.metadata)) {
    previous.metadata = subscription.metadata;
    subscription.metadata = metadata;
  }
  if (Object.keys(previous).length > 0)
    emit(context, "customer.subscription.updated", subscription, previous);
  return subscription;
}

/** DELETE /v1/subscriptions/:id → status canceled, customer.subscription.deleted; again → 404 like Stripe. */
export function cancelSubscription(context: ApiContext): Subscription {
  const { store } = context;
  const subscription = subscriptionOrThrow(store, pathId(context), "id", 404);
  // Stripe treats a canceled subscription as gone for cancellation: "No such subscription".
  if (subscription.status === "canceled") throw resourceMissing("subscription", subscription.id, "id", 404);
  endSubscription(context, subscription);
  return subscription;
}

/** Ends a subscription now → customer.subscription.deleted. */
export function endSubscription(
  context: Omit<ApiContext, "params" | "pathIds">,
  subscription: Subscription,
): void {
  const at = now(context.store);
  subscription.status = "canceled";
  subscription.canceled_at ??= at;
  subscription.ended_at = at;
  setCancellationReason(subscription, "cancellation_requested");
  emit(context, "customer.subscription.deleted", subscription);
}

/** GET /v1/subscriptions/:id. */
export function retrieveSubscription(context: ApiContext): Subscription {
  return subscriptionOrThrow(context.store, pathId(context), "id", 404);
}

/** GET /v1/subscriptions (customer, status, limit, starting_after, ending_before). */
export function listSubscriptions(context: ApiContext) {
  const { store, params } = context;
  const customer = optionalString(params, "customer");
  const status = optionalString(params, "status");
  const ids =
    customer === undefined
      ? [...store.subscriptions.keys()]
      : (store.subscriptionsByCustomer.get(customer) ?? []);
  const page = readPageRequest(params, "subscription", (id) => {
    const at = ids.indexOf(id);
    return at === -1 ? undefined : at;
  });
  // Stripe lists non-canceled subscriptions unless a status (or "all") is asked for.
  const accept = (id: string) => {
    const subscription = store.subscriptions.get(id) as Subscription;
    if (status === "all") return true;
    return status === undefined ? subscription.status !== "canceled" : subscription.status === status;
  };
  const { data, hasMore } = pageNewestFirst(ids, page, accept);
  return buildList(
    "/v1/subscriptions",
    data.map((id) => store.subscriptions.get(id) as Subscription),
    hasMore,
  );
}

function setCancellationReason(subscription: Subscription, reason: "cancellation_requested" | null): void {
  const details = subscription.cancellation_details;
  subscription.cancellation_details = {
    comment: details?.comment ?? null,
    feedback: details?.feedback ?? null,
    feedback_option: details?.feedback_option ?? null,
    reason,
  };
}
