import type { ApiContext } from "../api-context.ts";
import { pathId } from "../api-context.ts";
import { emit } from "../emit.ts";
import { newId } from "../ids.ts";
import { addLine, lineFromInvoiceItem } from "../objects/invoice.ts";
import { buildInvoiceItem, type InvoiceItem } from "../objects/invoice-item.ts";
import {
  mergeMetadata,
  metadataParam,
  optionalString,
  requiredCurrency,
  requiredInteger,
  requiredString,
} from "../params.ts";
import { addToIndex, now } from "../store.ts";
import { invalidRequest, resourceMissing } from "../stripe-error.ts";
import { customerOrThrow } from "./customers.ts";

/**
 * POST /v1/invoiceitems (customer, amount, currency, description?, invoice?) → invoiceitem.created;
 * on the named draft invoice, else pending for the customer's next invoice.
 */
export function createInvoiceItem(context: ApiContext): InvoiceItem {
  const { store, params } = context;
  const customer = customerOrThrow(store, requiredString(params, "customer"), "customer", 400);
  const amount = requiredInteger(params, "amount");
  const currency = requiredCurrency(params, "currency");
  const invoiceId = optionalString(params, "invoice");
  const invoice = invoiceId === undefined ? undefined : store.invoices.get(invoiceId);
  if (invoiceId !== undefined) {
    if (invoice === undefined) throw resourceMissing("invoice", invoiceId, "invoice", 400);
    if (invoice.status !== "draft") {
      throw invalidRequest(
        "You can only add invoice items to draft invoices.",
        "invoice",
        "invoice_not_editable",
      );
    }
    if (invoice.customer !== customer.id) {
      throw invalidRequest("The invoice belongs to another customer.", "invoice");
    }
    if (invoice.currency !== currency) {
      throw invalidRequest(
        `The currency ${currency} does not match the invoice's (${invoice.currency}).`,
        "currency",
      );
    }
  }
  const item = buildInvoiceItem({
    id: newId("ii"),
    created: now(store),
    customer: customer.id,
    amount,
    currency,
    description: optionalString(params, "description") ?? null,
    invoice: invoice?.id ?? null,
    metadata: mergeMetadata({}, metadataParam(params)),
  });
  store.invoiceItems.set(item.id, item);
  if (invoice === undefined) addToIndex(store.pendingInvoiceItems, customer.id, item.id);
  else addLine(invoice, lineFromInvoiceItem(newId("il"), invoice.id, item));
  emit(context, "invoiceitem.created", item);
  return item;
}

/** GET /v1/invoiceitems/:id. */
export function retrieveInvoiceItem(context: ApiContext): InvoiceItem {
  const id = pathId(context);
  const item = context.store.invoiceItems.get(id);
  if (item === undefined) throw resourceMissing("invoiceitem", id, "id", 404);
  return item;
}
