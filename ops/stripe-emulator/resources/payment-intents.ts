import type { ApiContext } from "../api-context.ts";
import { pathId } from "../api-context.ts";
import { emit } from "../emit.ts";
import { newId } from "../ids.ts";
import { buildCharge } from "../objects/charge.ts";
import { buildPaymentIntent, type PaymentIntent } from "../objects/payment-intent.ts";
import {
  mergeMetadata,
  metadataParam,
  optionalBoolean,
  optionalObject,
  optionalString,
  requiredCurrency,
  requiredInteger,
} from "../params.ts";
import { now, type Store } from "../store.ts";
import { invalidRequest, resourceMissing, StripeApiError } from "../stripe-error.ts";
import { cardOutcome, defaultPaymentMethod } from "../test-cards.ts";
import { customerOrThrow } from "./customers.ts";

const cancellationReasons = ["duplicate", "fraudulent", "requested_by_customer", "abandoned"];

/** A stored PaymentIntent, or resource_missing naming `param`. */
export function paymentIntentOrThrow(
  store: Store,
  id: string,
  param: string,
  status: 400 | 404,
): PaymentIntent {
  const paymentIntent = store.paymentIntents.get(id);
  if (paymentIntent === undefined) throw resourceMissing("payment_intent", id, param, status);
  return paymentIntent;
}

/** POST /v1/payment_intents → payment_intent.created, and with `confirm=true` the confirmation's events. */
export function createPaymentIntent(context: ApiContext): PaymentIntent {
  const { store, params } = context;
  const amount = requiredInteger(params, "amount");
  if (amount < 1) throw invalidRequest("This value must be greater than or equal to 1.", "amount");
  const currency = requiredCurrency(params, "currency");
  const customerId = optionalString(params, "customer");
  if (customerId !== undefined) customerOrThrow(store, customerId, "customer", 400);
  const paymentMethod = paymentMethodParam(params);
  const automatic = optionalObject(params, "automatic_payment_methods");
  const paymentIntent = buildPaymentIntent({
    id: newId("pi"),
    created: now(store),
    amount,
    currency,
    customer: customerId ?? null,
    description: optionalString(params, "description") ?? null,
    paymentMethod: paymentMethod ?? null,
    automaticPaymentMethods: automatic?.enabled === "true",
    receiptEmail: optionalString(params, "receipt_email") ?? null,
    metadata: mergeMetadata({}, metadataParam(params)),
  });
  store.paymentIntents.set(paymentIntent.id, paymentIntent);
  emit(context, "payment_intent.created", paymentIntent);
  if (optionalBoolean(params, "confirm") === true) confirm(context, paymentIntent, paymentMethod);
  return paymentIntent;
}

/** POST /v1/payment_intents/:id/confirm (payment_method?). */
export function confirmPaymentIntent(context: ApiContext): PaymentIntent {
  const paymentIntent = paymentIntentOrThrow(context.store, pathId(context), "intent", 404);
  confirm(context, paymentIntent, paymentMethodParam(context.params));
  return paymentIntent;
}

/** GET /v1/payment_intents/:id. */
export function retrievePaymentIntent(context: ApiContext): PaymentIntent {
  return paymentIntentOrThrow(context.store, pathId(context), "intent", 404);
}

/** POST /v1/payment_intents/:id/cancel → payment_intent.canceled. */
export function cancelPaymentIntent(context: ApiContext): PaymentIntent {
  const paymentIntent = paymentIntentOrThrow(context.store, pathId(context), "intent", 404);
  if (paymentIntent.status === "succeeded" || paymentIntent.status === "canceled") {
    throw unexpectedState(paymentIntent, "cancel");
  }
  const reason = optionalString(context.params, "cancellation_reason") ?? null;
  if (reason !== null && !cancellationReasons.includes(reason)) {
    throw invalidRequest(`Invalid cancellation_reason: ${reason}`, "cancellation_reason");
  }
  const previousStatus = paymentIntent.status;
  paymentIntent.status = "canceled";
  paymentIntent.canceled_at = now(context.store);
  paymentIntent.cancellation_reason = reason as PaymentIntent["cancellation_reason"];
  emit(context, "payment_intent.canceled", paymentIntent, { status: previousStatus });
  return paymentIntent;
}

/**
 * Charges the PaymentIntent: a succeeded charge (charge.succeeded, payment_intent.succeeded), or for a
 * declining test card a failed one (charge.failed, payment_intent.payment_failed) and a 402 card_error.
 */
function confirm(
  context: ApiContext,
  paymentIntent: PaymentIntent,
  paymentMethodOverride: string | undefined,
): void {
  const { store } = context;
  if (paymentIntent.status === "succeeded" || paymentIntent.status === "canceled") {
    throw unexpectedState(paymentIntent, "confirm");
  }
  const paymentMethod = paymentMethodOverride ?? paymentIntent.payment_method ?? defaultPaymentMethod;
  const outcome = cardOutcome(paymentMethod);
  const previousStatus = paymentIntent.status;
  const charge = buildCharge({
    id: newId("ch"),
    created: now(store),
    amount: paymentIntent.amount,
    currency: paymentIntent.currency,
    customer: paymentIntent.customer,
    description: paymentIntent.description,
    paymentIntent: paymentIntent.id,
    paymentMethod,
    metadata: { ...paymentIntent.metadata },
    balanceTransaction: outcome.ok ? newId("txn") : null,
    failure: outcome.ok ? null : { code: outcome.code, message: outcome.message },
  });
  store.charges.set(charge.id, charge);
  paymentIntent.payment_method = paymentMethod;
  paymentIntent.latest_charge = charge.id;
  if (outcome.ok) {
    paymentIntent.status = "succeeded";
    paymentIntent.amount_received = paymentIntent.amount;
    paymentIntent.last_payment_error = null;
    emit(context, "charge.succeeded", charge);
    emit(context, "payment_intent.succeeded", paymentIntent, { status: previousStatus, amount_received: 0 });
    return;
  }
  paymentIntent.status = "requires_payment_method";
  paymentIntent.last_payment_error = {
    type: "card_error",
    code: outcome.code,
    decline_code: outcome.declineCode,
    message: outcome.message,
    charge: charge.id,
    doc_url: `https://stripe.com/docs/error-codes/${outcome.code.replaceAll("_", "-")}`,
  };
  emit(context, "charge.failed", charge);
  emit(context, "payment_intent.payment_failed", paymentIntent, { status: previousStatus });
  throw new StripeApiError(402, {
    type: "card_error",
    code: outcome.code,
    decline_code: outcome.declineCode,
    message: outcome.message,
    charge: charge.id,
    doc_url: `https://stripe.com/docs/error-codes/${outcome.code.replaceAll("_", "-")}`,
    payment_intent: JSON.parse(JSON.stringify(paymentIntent)),
  });
}

function paymentMethodParam(params: ApiContext["params"]): string | undefined {
  const paymentMethod = optionalString(params, "payment_method");
  if (paymentMethod !== undefined && !paymentMethod.startsWith("pm_")) {
    throw resourceMissing("PaymentMethod", paymentMethod, "payment_method", 400);
  }
  return paymentMethod;
}

function unexpectedState(paymentIntent: PaymentIntent, action: "confirm" | "cancel"): StripeApiError {
  return invalidRequest(
    `You cannot ${action} this PaymentIntent because it has a status of ${paymentIntent.status}.`,
    undefined,
    "payment_intent_unexpected_state",
  );
}
