import type { Charge } from "./objects/charge.ts";
import type { Customer } from "./objects/customer.ts";
import type { Invoice } from "./objects/invoice.ts";
import type { InvoiceItem } from "./objects/invoice-item.ts";
import type { PaymentIntent } from "./objects/payment-intent.ts";
import type { Price } from "./objects/price.ts";
import type { Refund } from "./objects/refund.ts";
import type { Subscription } from "./objects/subscription.ts";

/** An emitted event, kept as the exact JSON that webhooks deliver and `GET /v1/events` lists. */
export interface EventRecord {
  readonly id: string;
  readonly type: string;
  readonly created: number;
  readonly json: string;
}

/** Objects kept in creation order with an id → position index, so pages are found in O(1). */
export interface OrderedIds {
  readonly ids: string[];
  readonly position: Map<string, number>;
}

/** Everything the emulator remembers; lost on reset or restart, like a fresh test-mode account. */
export interface Store {
  readonly customers: Map<string, Customer>;
  readonly customerOrder: OrderedIds;
  /** email → customer ids, for `GET /v1/customers?email=` and search. */
  readonly customersByEmail: Map<string, string[]>;
  /** `key\u0000value` → customer ids, for `metadata['key']:'value'` search. */
  readonly customersByMetadata: Map<string, string[]>;
  readonly paymentIntents: Map<string, PaymentIntent>;
  readonly charges: Map<string, Charge>;
  readonly refunds: Map<string, Refund>;
  readonly prices: Map<string, Price>;
  readonly subscriptions: Map<string, Subscription>;
  /** customer id → its subscription ids, oldest first. */
  readonly subscriptionsByCustomer: Map<string, string[]>;
  readonly invoices: Map<string, Invoice>;
  readonly invoiceItems: Map<string, InvoiceItem>;
  /** customer id → invoice items not yet on an invoice. */
  readonly pendingInvoiceItems: Map<string, string[]>;
  readonly events: EventRecord[];
  readonly eventPosition: Map<string, number>;
  invoiceSequence: number;
  /** Never decreases, so events stay sorted by `created` even if the wall clock steps back. */
  lastCreated: number;
}

/** An empty store. */
export function createStore(): Store {
  return {
    customers: new Map(),
    customerOrder: { ids: [], position: new Map() },
    customersByEmail: new Map(),
    customersByMetadata: new Map(),
    paymentIntents: new Map(),
    charges: new Map(),
    refunds: new Map(),
    prices: new Map(),
    subscriptions: new Map(),
    subscriptionsByCustomer: new Map(),
    invoices: new Map(),
    invoiceItems: new Map(),
    pendingInvoiceItems: new Map(),
    events: [],
    eventPosition: new Map(),
    invoiceSequence: 0,
    lastCreated: 0,
  };
}

/** Unix seconds for a new object or event. */
export function now(store: Store): number {
  store.lastCreated = Math.max(store.lastCreated, Math.floor(Date.now() / 1000));
  return store.lastCreated;
}

/** Appends an id to an ordered index. */
export function appendOrdered(order: OrderedIds, id: string): void {
  order.position.set(id, order.ids.length);
  order.ids.push(id);
}

/** Adds an id to a multi-valued index. */
export function addToIndex(index: Map<string, string[]>, key: string, id: string): void {
  const ids = index.get(key);
  if (ids === undefined) index.set(key, [id]);
  else ids.push(id);
}

/** Removes an id from a multi-valued index. */
export function removeFromIndex(index: Map<string, string[]>, key: string, id: string): void {
  const ids = index.get(key);
  if (ids === undefined) return;
  const at = ids.indexOf(id);
  if (at !== -1) ids.splice(at, 1);
  if (ids.length === 0) index.delete(key);
}

/** Any stored object by its id (used by `expand[]`). */
export function findObject(store: Store, id: string): object | undefined {
  const prefix = id.slice(0, id.indexOf("_"));
  switch (prefix) {
    case "cus":
      return store.customers.get(id);
    case "pi":
      return store.paymentIntents.get(id);
    case "ch":
      return store.charges.get(id);
    case "re":
      return store.refunds.get(id);
    case "sub":
      return store.subscriptions.get(id);
    case "in":
      return store.invoices.get(id);
    case "ii":
      return store.invoiceItems.get(id);
    case "price":
      return store.prices.get(id);
    default:
      return undefined;
  }
}
