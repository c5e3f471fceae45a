import type { ApiContext } from "../api-context.ts";
import { pathId } from "../api-context.ts";
import { emit } from "../emit.ts";
import { newId } from "../ids.ts";
import { pageNewestFirst, readPageRequest } from "../listing.ts";
import { buildCustomer, type Customer } from "../objects/customer.ts";
import { buildList } from "../objects/list.ts";
import { mergeMetadata, metadataParam, optionalInteger, optionalObject, optionalString } from "../params.ts";
import { addToIndex, appendOrdered, now, removeFromIndex, type Store } from "../store.ts";
import { invalidRequest, resourceMissing } from "../stripe-error.ts";

/** A stored customer, or Stripe's resource_missing naming `param`. */
export function customerOrThrow(store: Store, id: string, param: string, status: 400 | 404): Customer {
  const customer = store.customers.get(id);
  if (customer === undefined) throw resourceMissing("customer", id, param, status);
  return customer;
}

/** POST /v1/customers → customer.created. */
export function createCustomer(context: ApiContext): Customer {
  const { store, params } = context;
  const metadata = mergeMetadata({}, metadataParam(params));
  const customer = buildCustomer({
    id: newId("cus"),
    created: now(store),
    email: optionalString(params, "email") ?? null,
    name: optionalString(params, "name") ?? null,
    description: optionalString(params, "description") ?? null,
    phone: optionalString(params, "phone") ?? null,
    metadata,
    defaultPaymentMethod: defaultPaymentMethodParam(params) ?? null,
  });
  store.customers.set(customer.id, customer);
  appendOrdered(store.customerOrder, customer.id);
  indexCustomer(store, customer, "add");
  emit(context, "customer.created", customer);
  return customer;
}

/** GET /v1/customers/:id. */
export function retrieveCustomer(context: ApiContext): Customer {
  return customerOrThrow(context.store, pathId(context), "id", 404);
}

/** invoice_settings[default_payment_method]: a test card token such as pm_card_chargeDeclined. */
function defaultPaymentMethodParam(params: ApiContext["params"]): string | undefined {
  const settings = optionalObject(params, "invoice_settings");
  return settings === undefined ? undefined : optionalString(settings, "default_payment_method");
}

/**
 * POST /v1/customers/:id (email, name, description, phone, metadata,
 * invoice_settings[default_payment_method]) → customer.updated.
 */
export function updateCustomer(context: ApiContext): Customer {
  const { store, params } = context;
  const customer = customerOrThrow(store, pathId(context), "id", 404);
  const previous: Record<string, unknown> = {};
  const next: Partial<Customer> = {};
  for (const field of ["email", "name", "description", "phone"] as const) {
    const value = optionalString(params, field);
    if (value !== undefined && value !== customer[field]) {
      previous[field] = customer[field];
      next[field] = value;
    }
  }
  const paymentMethod = defaultPaymentMethodParam(params);
  if (paymentMethod !== undefined && paymentMethod !== customer.invoice_settings.default_payment_method) {
    previous.invoice_settings = customer.invoice_settings;
    next.invoice_settings = { ...customer.invoice_settings, default_payment_method: paymentMethod };
  }
  const metadata = mergeMetadata(customer.metadata, metadataParam(params));
  if (JSON.stringify(metadata) !== JSON.stringify(customer.metadata)) {
    previous.metadata = customer.metadata;
    next.metadata = metadata;
  }
  if (Object.keys(next).length === 0) return customer;
  indexCustomer(store, customer, "remove");
  Object.assign(customer, next);
  indexCustomer(store, customer, "add");
  emit(context, "customer.updated", customer, previous);
  return customer;
}

/** GET /v1/customers (limit, starting_after, ending_before, email). */
export function listCustomers(context: ApiContext) {
  const { store, params } = context;
  const email = optionalString(params, "email");
  const ids = email === undefined ? store.customerOrder.ids : (store.customersByEmail.get(email) ?? []);
  const page = readPageRequest(params, "customer", (id) =>
    email === undefined ? store.customerOrder.position.get(id) : indexOrUndefined(ids, id),
  );
  const { data, hasMore } = pageNewestFirst(ids, page, () => true);
  return buildList(
    "/v1/customers",
    data.map((id) => store.customers.get(id) as Customer),
    hasMore,
  );
}

/**
 * GET /v1/customers/search: clauses `email:'…'`, `name:'…'` and `metadata['key']:'…'` joined by AND
 * (the subset of Stripe's search language that finding a customer by account needs).
 */
export function searchCustomers(context: ApiContext) {
  const { store, params } = context;
  const query = optionalString(params, "query");
  if (query === undefined)
    throw invalidRequest("Missing required param: query.", "query", "parameter_missing");
  const limit = optionalInteger(params, "limit") ?? 10;
  if (limit < 1 || limit > 100)
    throw invalidRequest("This value must be between 1 and 100 (inclusive).", "limit");
  const offset = Number(optionalString(params, "page") ?? "0");
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalidRequest("Invalid page", "page");
  const clauses = query.split(/\s+AND\s+/).map(parseClause);
  const [first, ...rest] = clauses;
  if (first === undefined) throw invalidRequest("Invalid query", "query");
  const candidates = candidatesFor(store, first);
  const matches = candidates
    .map((id) => store.customers.get(id) as Customer)
    .filter((customer) => rest.every((clause) => clauseMatches(customer, clause)))
    .reverse();
  const data = matches.slice(offset, offset + limit);
  const hasMore = matches.length > offset + limit;
  return {
    object: "search_result",
    data,
    has_more: hasMore,
    next_page: hasMore ? String(offset + limit) : null,
    url: "/v1/customers/search",
  };
}

interface Clause {
  field: "email" | "name" | "metadata";
  key: string;
  value: string;
}

function parseClause(text: string): Clause {
  const metadata = /^metadata\[['"]([^'"]+)['"]\]:['"]([^'"]*)['"]$/.exec(text.trim());
  if (metadata !== null) return { field: "metadata", key: metadata[1] ?? "", value: metadata[2] ?? "" };
  const plain = /^(email|name):['"]([^'"]*)['"]$/.exec(text.trim());
  if (plain !== null) return { field: plain[1] as "email" | "name", key: "", value: plain[2] ?? "" };
  throw invalidRequest(`The emulator cannot search by: ${text}`, "query");
}

function candidatesFor(store: Store, clause: Clause): string[] {
  if (clause.field === "email") return store.customersByEmail.get(clause.value) ?? [];
  if (clause.field === "metadata") {
    return store.customersByMetadata.get(`${clause.key}\u0000${clause.value}`) ?? [];
  }
  return store.customerOrder.ids.filter((id) => store.customers.get(id)?.name === clause.value);
}

function clauseMatches(customer: Customer, clause: Clause): boolean {
  if (clause.field === "metadata") return customer.metadata[clause.key] === clause.value;
  return customer[clause.field] === clause.value;
}

function indexCustomer(store: Store, customer: Customer, change: "add" | "remove"): void {
  const update = change === "add" ? addToIndex : removeFromIndex;
  if (customer.email !== null) update(store.customersByEmail, customer.email, customer.id);
  for (const [key, value] of Object.entries(customer.metadata)) {
    update(store.customersByMetadata, `${key}\u0000${value}`, customer.id);
  }
}

function indexOrUndefined(ids: readonly string[], id: string): number | undefined {
  const at = ids.indexOf(id);
  return at === -1 ? undefined : at;
}
