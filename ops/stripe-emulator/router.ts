import type { Operation } from "./api-context.ts";
import { retrieveBalance } from "./resources/balance.ts";
import {
  createCustomer,
  listCustomers,
  retrieveCustomer,
  searchCustomers,
  updateCustomer,
} from "./resources/customers.ts";
import { listEvents, retrieveEvent } from "./resources/events.ts";
import { createInvoiceItem, retrieveInvoiceItem } from "./resources/invoice-items.ts";
import {
  createInvoice,
  finalizeInvoiceOperation,
  payInvoiceOperation,
  retrieveInvoice,
  voidInvoice,
} from "./resources/invoices.ts";
import {
  cancelPaymentIntent,
  confirmPaymentIntent,
  createPaymentIntent,
  retrievePaymentIntent,
} from "./resources/payment-intents.ts";
import { retrievePrice } from "./resources/prices.ts";
import { createRefund, retrieveRefund } from "./resources/refunds.ts";
import {
  cancelSubscription,
  createSubscription,
  listSubscriptions,
  retrieveSubscription,
  updateSubscription,
} from "./resources/subscriptions.ts";

type Method = "GET" | "POST" | "DELETE";

interface Route {
  readonly method: Method;
  readonly pattern: RegExp;
  readonly operation: Operation;
}

function route(method: Method, template: string, operation: Operation): Route {
  const source = template.replaceAll(":id", "([^/]+)");
  return { method, pattern: new RegExp(`^${source}$`), operation };
}

// The Stripe API subset the billing handlers, reconcile and doctor use; the first match wins.
const routes: readonly Route[] = [
  route("POST", "/v1/customers", createCustomer),
  route("GET", "/v1/customers", listCustomers),
  route("GET", "/v1/customers/search", searchCustomers),
  route("GET", "/v1/customers/:id", retrieveCustomer),
  route("POST", "/v1/customers/:id", updateCustomer),
  route("POST", "/v1/payment_intents", createPaymentIntent),
  route("GET", "/v1/payment_intents/:id", retrievePaymentIntent),
  route("POST", "/v1/payment_intents/:id/confirm", confirmPaymentIntent),
  route("POST", "/v1/payment_intents/:id/cancel", cancelPaymentIntent),
  route("POST", "/v1/refunds", createRefund),
  route("GET", "/v1/refunds/:id", retrieveRefund),
  route("GET", "/v1/prices/:id", retrievePrice),
  route("POST", "/v1/subscriptions", createSubscription),
  route("GET", "/v1/subscriptions", listSubscriptions),
  route("GET", "/v1/subscriptions/:id", retrieveSubscription),
  route("POST", "/v1/subscriptions/:id", updateSubscription),
  route("DELETE", "/v1/subscriptions/:id", cancelSubscription),
  route("POST", "/v1/invoiceitems", createInvoiceItem),
  route("GET", "/v1/invoiceitems/:id", retrieveInvoiceItem),
  route("POST", "/v1/invoices", createInvoice),
  route("GET", "/v1/invoices/:id", retrieveInvoice),
  route("POST", "/v1/invoices/:id/finalize", finalizeInvoiceOperation),
  route("POST", "/v1/invoices/:id/pay", payInvoiceOperation),
  route("POST", "/v1/invoices/:id/void", voidInvoice),
  route("GET", "/v1/events", listEvents),
  route("GET", "/v1/events/:id", retrieveEvent),
  route("GET", "/v1/balance", retrieveBalance),
];

/** The operation for a request and the ids in its path, or null (Stripe's "Unrecognized request URL"). */
export function matchRoute(method: string, path: string): { operation: Operation; pathIds: string[] } | null {
  for (const candidate of routes) {
    if (candidate.method !== method) continue;
    const match = candidate.pattern.exec(path);
    if (match !== null) return { operation: candidate.operation, pathIds: match.slice(1).map(safeDecode) };
  }
  return null;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // a malformed escape is just an id that does not exist
  }
}
