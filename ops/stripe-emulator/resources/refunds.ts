import type Stripe from "stripe";
import type { ApiContext } from "../api-context.ts";
import { pathId } from "../api-context.ts";
import { emit } from "../emit.ts";
import { newId } from "../ids.ts";
import type { Charge } from "../objects/charge.ts";
import { buildRefund, type Refund } from "../objects/refund.ts";
import { mergeMetadata, metadataParam, optionalInteger, optionalString } from "../params.ts";
import { now } from "../store.ts";
import { invalidRequest, resourceMissing } from "../stripe-error.ts";
import { paymentIntentOrThrow } from "./payment-intents.ts";

const reasons = ["duplicate", "fraudulent", "requested_by_customer"];

/**
 * POST /v1/refunds (payment_intent or charge, amount? = what is left): refunds the succeeded charge
 * → charge.refunded (amount_refunded cumulative) and refund.created.
 */
export function createRefund(context: ApiContext): Refund {
  const { store, params } = context;
  const charge = refundedCharge(context);
  const remaining = charge.amount - charge.amount_refunded;
  if (remaining === 0) {
    throw invalidRequest(
      `Charge ${charge.id} has already been refunded.`,
      undefined,
      "charge_already_refunded",
    );
  }
  const amount = optionalInteger(params, "amount") ?? remaining;
  if (amount < 1) throw invalidRequest("This value must be greater than or equal to 1.", "amount");
  if (amount > remaining) {
    throw invalidRequest(
      `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`,
      "amount",
      "amount_too_large",
    );
  }
  const reason = optionalString(params, "reason") ?? null;
  if (reason !== null && !reasons.includes(reason))
    throw invalidRequest(`Invalid reason: ${reason}`, "reason");
  const refund = buildRefund({
    id: newId("re"),
    created: now(store),
    amount,
    currency: charge.currency,
    charge: charge.id,
    paymentIntent: charge.payment_intent,
    reason: reason as Stripe.Refund.Reason | null,
    balanceTransaction: newId("txn"),
    metadata: mergeMetadata({}, metadataParam(params)),
  });
  store.refunds.set(refund.id, refund);
  const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded === charge.amount;
  charge.refunds.data.unshift(refund);
  charge.refunds.total_count = charge.refunds.data.length;
  emit(context, "charge.refunded", charge, previous);
  emit(context, "refund.created", refund);
  return refund;
}

/** GET /v1/refunds/:id. */
export function retrieveRefund(context: ApiContext): Refund {
  const id = pathId(context);
  const refund = context.store.refunds.get(id);
  if (refund === undefined) throw resourceMissing("refund", id, "id", 404);
  return refund;
}

function refundedCharge(context: ApiContext): Charge {
  const { store, params } = context;
  const paymentIntentId = optionalString(params, "payment_intent");
  const chargeId = optionalString(params, "charge");
  if (paymentIntentId === undefined && chargeId === undefined) {
    throw invalidRequest(
      "One of the following params should be provided for this request: payment_intent or charge.",
    );
  }
  if (chargeId !== undefined) {
    const charge = store.charges.get(chargeId);
    if (charge === undefined) throw resourceMissing("charge", chargeId, "charge", 400);
    if (charge.status !== "succeeded")
      throw invalidRequest(`Charge ${chargeId} has not succeeded.`, "charge");
    return charge;
  }
  const paymentIntent = paymentIntentOrThrow(store, paymentIntentId as string, "payment_intent", 400);
  const charge =
    paymentIntent.latest_charge === null ? undefined : store.charges.get(paymentIntent.latest_charge);
  if (paymentIntent.status !== "succeeded" || charge === undefined) {
    throw invalidRequest(
      `This PaymentIntent (${paymentIntent.id}) does not have a successful charge to refund.`,
      "payment_intent",
    );
  }
  return charge;
}
