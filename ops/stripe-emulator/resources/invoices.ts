import type { ApiContext } from "../api-context.ts";
import { pathId } from "../api-context.ts";
import { emit } from "../emit.ts";
import { newId } from "../ids.ts";
import { draftInvoice, failInvoicePayment, finalizeInvoice, payInvoice } from "../invoice-lifecycle.ts";
import { addLine, type Invoice, lineFromInvoiceItem } from "../objects/invoice.ts";
import type { InvoiceItem } from "../objects/invoice-item.ts";
import {
  mergeMetadata,
  metadataParam,
  optionalBoolean,
  optionalInteger,
  optionalString,
  requiredString,
} from "../params.ts";
import { now, type Store } from "../store.ts";
import { invalidRequest, resourceMissing, StripeApiError } from "../stripe-error.ts";
import { cardOutcome } from "../test-cards.ts";
import { customerOrThrow } from "./customers.ts";

/** A stored invoice, or resource_missing naming `param`. */
export function invoiceOrThrow(store: Store, id: string, param: string, status: 400 | 404): Invoice {
  const invoice = store.invoices.get(id);
  if (invoice === undefined) throw resourceMissing("invoice", id, param, status);
  return invoice;
}

/**
 * POST /v1/invoices (customer, auto_advance?, collection_method?, days_until_due?,
 * pending_invoice_items_behavior? = "exclude", currency?, description?, metadata) → a draft, invoice.created.
 */
export function createInvoice(context: ApiContext): Invoice {
  const { store, params } = context;
  const customer = customerOrThrow(store, requiredString(params, "customer"), "customer", 400);
  const collectionMethod = optionalString(params, "collection_method") ?? "charge_automatically";
  if (collectionMethod !== "charge_automatically" && collectionMethod !== "send_invoice") {
    throw invalidRequest(`Invalid collection_method: ${collectionMethod}`, "collection_method");
  }
  const daysUntilDue = optionalInteger(params, "days_until_due") ?? null;
  if (collectionMethod === "send_invoice" && daysUntilDue === null) {
    throw invalidRequest(
      "Missing required param: days_until_due (needed when collection_method is send_invoice).",
      "days_until_due",
      "parameter_missing",
    );
  }
  const behavior = optionalString(params, "pending_invoice_items_behavior") ?? "exclude";
  if (behavior !== "include" && behavior !== "exclude") {
    throw invalidRequest(
      `Invalid pending_invoice_items_behavior: ${behavior}`,
      "pending_invoice_items_behavior",
    );
  }
  const pending = behavior === "include" ? pendingItems(store, customer.id) : [];
  const currency = optionalString(params, "currency")?.toLowerCase() ?? pending[0]?.currency ?? "usd";
  const mixed = pending.find((item) => item.currency !== currency);
  if (mixed !== undefined) {
    throw invalidRequest(
      `Pending invoice item ${mixed.id} is in ${mixed.currency}, not ${currency}.`,
      "currency",
    );
  }
  const at = now(store);
  const invoice = draftInvoice(context, {
    customer,
    currency,
    collectionMethod,
    autoAdvance: optionalBoolean(params, "auto_advance") ?? false,
    daysUntilDue,
    billingReason: "manual",
    description: optionalString(params, "description") ?? null,
    subscription: null,
    periodStart: at,
    periodEnd: at,
    metadata: mergeMetadata({}, metadataParam(params)),
  });
  for (const item of pending) {
    item.invoice = invoice.id;
    addLine(invoice, lineFromInvoiceItem(newId("il"), invoice.id, item));
  }
  if (pending.length > 0) store.pendingInvoiceItems.delete(customer.id);
  emit(context, "invoice.created", invoice);
  return invoice;
}

/** POST /v1/invoices/:id/finalize → open, invoice.finalized. */
export function finalizeInvoiceOperation(context: ApiContext): Invoice {
  const invoice = invoiceOrThrow(context.store, pathId(context), "invoice", 404);
  if (invoice.status !== "draft") {
    throw invalidRequest(
      "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
      undefined,
      "invoice_not_editable",
    );
  }
  const autoAdvance = optionalBoolean(context.params, "auto_advance");
  if (autoAdvance !== undefined) invoice.auto_advance = autoAdvance;
  finalizeInvoice(context, invoice);
  return invoice;
}

/**
 * POST /v1/invoices/:id/pay (paid_out_of_band?, payment_method?): finalizes a draft first, then
 * paid → invoice.paid, invoice.payment_succeeded; a declining test card → invoice.payment_failed and 402.
 */
export function payInvoiceOperation(context: ApiContext): Invoice {
  const { params } = context;
  const invoice = invoiceOrThrow(context.store, pathId(context), "invoice", 404);
  if (invoice.status === "paid")
    throw invalidRequest("Invoice is already paid", undefined, "invoice_already_paid");
  if (invoice.status === "void" || invoice.status === "uncollectible") {
    throw invalidRequest(
      `This invoice is ${invoice.status} and cannot be paid.`,
      undefined,
      "invoice_not_editable",
    );
  }
  if (invoice.status === "draft") finalizeInvoice(context, invoice);
  if (invoice.status !== "open") return invoice;
  if (optionalBoolean(params, "paid_out_of_band") === true) {
    payInvoice(context, invoice, { outOfBand: true });
    return invoice;
  }
  const outcome = cardOutcome(optionalString(params, "payment_method") ?? "");
  if (outcome.ok) {
    payInvoice(context, invoice, { outOfBand: false });
    return invoice;
  }
  failInvoicePayment(context, invoice);
  throw new StripeApiError(402, {
    type: "card_error",
    code: outcome.code,
    decline_code: outcome.declineCode,
    message: outcome.message,
  });
}

/** POST /v1/invoices/:id/void → void, invoice.voided. */
export function voidInvoice(context: ApiContext): Invoice {
  const invoice = invoiceOrThrow(context.store, pathId(context), "invoice", 404);
  if (invoice.status !== "open") {
    throw invalidRequest("You can only void an open invoice.", undefined, "invoice_not_editable");
  }
  invoice.status = "void";
  invoice.status_transitions.voided_at = now(context.store);
  emit(context, "invoice.voided", invoice, { status: "open" });
  return invoice;
}

/** GET /v1/invoices/:id. */
export function retrieveInvoice(context: ApiContext): Invoice {
  return invoiceOrThrow(context.store, pathId(context), "invoice", 404);
}

function pendingItems(store: Store, customerId: string): InvoiceItem[] {
  const ids = store.pendingInvoiceItems.get(customerId) ?? [];
  return ids.map((id) => store.invoiceItems.get(id) as InvoiceItem);
}
