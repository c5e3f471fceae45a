import { PermanentError } from "./errors.ts";
import { fieldReader, isObject, type JsonObject } from "./event-fields.ts";
import { type InvoiceStatus, isStatus as isInvoiceStatus } from "./invoice-status.ts";
import { isStatus as isPaymentStatus, type PaymentStatus } from "./payment-status.ts";
import { isStatus as isSubscriptionStatus, type SubscriptionStatus } from "./subscription-status.ts";

// A Stripe event as the worker sees it, and one extractor per family that checks exactly what its
// handler needs. Anything missing or malformed is permanent (invalid_event): retrying cannot fix it.

/** The envelope of a Stripe event with its `data.object`. */
export interface StripeEvent {
  id: string;
  type: string;
  /** Unix seconds. */
  created: number;
  livemode: boolean;
  object: JsonObject;
  previousAttributes?: JsonObject;
}

/**
 * What the apply path keeps of an event once its change is read: the envelope without the object,
 * so messages waiting in a batch hold no parsed bodies (they died young instead of being promoted).
 */
export type StripeEventHead = Pick<StripeEvent, "id" | "type" | "created" | "livemode">;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses the raw body of a Stripe event (the exact webhook bytes). */
export function parseStripeEvent(raw: Uint8Array | string): StripeEvent {
  const invalid = (reason: string): never => {
    throw new PermanentError("invalid_event", `not a Stripe event: ${reason}`);
  };
  let json: unknown;
  let text: string;
  try {
    text = typeof raw === "string" ? raw : utf8.decode(raw);
    json = JSON.parse(text);
  } catch (error) {
    return invalid(`body is not UTF-8 JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  // The exact body is kept for audit (jsonb), which refuses a \u0000 or an unpaired surrogate;
  // Stripe never sends them, and only an escape (\u) can make either.
  if (text.includes("\\u") && !storable(json))
    return invalid("body holds a \\u0000 or an unpaired surrogate");
  if (!isObject(json)) return invalid("body is not a JSON object");
  if (json.object !== "event") return invalid('object is not "event"');
  const { id, type, created, livemode, data } = json;
  if (typeof id !== "string" || !/^evt_\S+$/.test(id)) return invalid("id does not start with evt_");
  if (typeof type !== "string" || type.length === 0) return invalid("type missing");
  if (typeof created !== "number" || !Number.isSafeInteger(created) || created < 0) {
    return invalid("created is not unix seconds");
  }
  if (livemode !== undefined && typeof livemode !== "boolean") return invalid("livemode is not a boolean");
  if (!isObject(data) || !isObject(data.object)) return invalid("data.object missing");
  const previous = data.previous_attributes;
  if (previous !== undefined && previous !== null && !isObject(previous)) {
    return invalid("data.previous_attributes is not an object");
  }
  return {
    id,
    type,
    created,
    livemode: livemode === true,
    object: data.object,
    ...(isObject(previous) ? { previousAttributes: previous } : {}),
  };
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** False when a string anywhere in `value` holds NUL or an unpaired surrogate. */
function storable(value: unknown): boolean {
  if (typeof value === "string") return !value.includes("\u0000") && !loneSurrogate.test(value);
  if (Array.isArray(value)) return value.every(storable);
  if (isObject(value)) return Object.entries(value).every(([key, item]) => storable(key) && storable(item));
  return true;
}

export interface PaymentIntentFacts {
  paymentIntentId: string;
  /** metadata.account_id: the account a deposit credits. */
  accountId: string | undefined;
  /** metadata.purpose, e.g. "deposit". */
  purpose: string | undefined;
  amount: number;
  amountReceived: number;
  currency: string;
  /** Stripe's status, except "failed" for payment_intent.payment_failed. */
  status: PaymentStatus;
  lastError: string | undefined;
}

/** The facts of a payment_intent.* event. */
export function paymentIntentFacts(event: StripeEvent): PaymentIntentFacts {
  const read = readerFor(event, "payment_intent");
  const succeeded = event.type === "payment_intent.succeeded";
  const failed = event.type === "payment_intent.payment_failed";
  const stripeStatus = read.status("status", isPaymentStatus);
  // a succeeded event must carry a real payment: it is what credits a balance
  if (succeeded && stripeStatus !== "succeeded") read.fail("status", "invalid");
  if (succeeded && read.count("amount_received") === 0) read.fail("amount_received", "invalid");
  return {
    paymentIntentId: read.id("id", "pi_"),
    accountId: read.optionalString("metadata.account_id") ?? undefined,
    purpose: read.optionalString("metadata.purpose") ?? undefined,
    amount: read.count("amount"),
    amountReceived: succeeded ? read.count("amount_received") : (read.optionalCount("amount_received") ?? 0),
    currency: read.currency("currency"),
    status: failed ? "failed" : stripeStatus,
    lastError:
      read.optionalString("last_payment_error.message") ??
      read.optionalString("last_payment_error.code") ??
      undefined,
  };
}

export interface ChargeRefundFacts {
  chargeId: string;
  paymentIntentId: string;
  /** charge.amount_refunded: cumulative over all refunds of the charge. */
  amountRefunded: number;
  currency: string;
}

/** The facts of a charge.refunded event. */
export function chargeRefundFacts(event: StripeEvent): ChargeRefundFacts {
  const read = readerFor(event, "charge");
  const paymentIntentId = read.optionalRef("payment_intent", "pi_");
  return {
    // card charges are ch_…, some other payment methods py_…
    chargeId: read.optionalString("id") ?? read.fail("id", "missing"),
    paymentIntentId: paymentIntentId ?? read.fail("payment_intent", "missing"),
    amountRefunded: read.count("amount_refunded"),
    currency: read.currency("currency"),
  };
}

export interface SubscriptionFacts {
  subscriptionId: string;
  customerId: string;
  status: SubscriptionStatus;
  priceId: string | null;
  /** Unix seconds; on the first item since API 2025-03-31, on the subscription before. */
  currentPeriodEnd: number | null;
  cancelAtPeriodEnd: boolean;
}

/** The facts of a customer.subscription.* event. */
export function subscriptionFacts(event: StripeEvent): SubscriptionFacts {
  const read = readerFor(event, "subscription");
  const items = read.get("items.data");
  if (items !== undefined && !Array.isArray(items)) read.fail("items.data", "invalid");
  return {
    subscriptionId: read.id("id", "sub_"),
    customerId: read.optionalRef("customer", "cus_") ?? read.fail("customer", "missing"),
    status: read.status("status", isSubscriptionStatus),
    priceId: read.optionalRef("items.data.0.price", "price_"),
    currentPeriodEnd:
      read.optionalCount("current_period_end") ?? read.optionalCount("items.data.0.current_period_end"),
    cancelAtPeriodEnd: read.boolean("cancel_at_period_end"),
  };
}

export interface InvoiceFacts {
  invoiceId: string;
  customerId: string;
  subscriptionId: string | null;
  status: InvoiceStatus;
  amountDue: number;
  amountPaid: number;
  attemptCount: number;
  currency: string;
}

/** The facts of an invoice.* event. */
export function invoiceFacts(event: StripeEvent): InvoiceFacts {
  const read = readerFor(event, "invoice");
  return {
    invoiceId: read.id("id", "in_"),
    customerId: read.optionalRef("customer", "cus_") ?? read.fail("customer", "missing"),
    // `subscription` before API 2025-03-31, `parent.subscription_details.subscription` since
    subscriptionId:
      read.optionalRef("subscription", "sub_") ??
      read.optionalRef("parent.subscription_details.subscription", "sub_"),
    status: read.status("status", isInvoiceStatus),
    amountDue: read.count("amount_due"),
    amountPaid: read.count("amount_paid"),
    attemptCount: read.count("attempt_count"),
    currency: read.currency("currency"),
  };
}

export interface CustomerFacts {
  customerId: string;
  accountId: string | undefined;
  email: string | null;
}

/** The facts of a customer.* event. */
export function customerFacts(event: StripeEvent): CustomerFacts {
  const read = readerFor(event, "customer");
  return {
    customerId: read.id("id", "cus_"),
    accountId: read.optionalString("metadata.account_id") ?? undefined,
    email: read.optionalString("email"),
  };
}

// An extractor applied to another kind of object is a routing bug or a forged event: permanent.
function readerFor(event: StripeEvent, kind: string) {
  const read = fieldReader(event.type, event.object);
  if (event.object.object !== kind) read.fail("object", "invalid");
  const metadata = read.get("metadata");
  if (metadata !== undefined && metadata !== null && !isObject(metadata)) read.fail("metadata", "invalid");
  return read;
}
