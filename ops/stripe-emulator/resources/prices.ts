import type { ApiContext } from "../api-context.ts";
import { pathId } from "../api-context.ts";
import { buildPrice, type Price } from "../objects/price.ts";
import { now, type Store } from "../store.ts";
import { resourceMissing } from "../stripe-error.ts";

/**
 * Any `price_…` id exists (see buildPrice for its amount) unless it contains "missing", which answers
 * resource_missing so tests can make Stripe refuse a request with a 4xx.
 */
export function priceOrThrow(store: Store, id: string, param: string, status: 400 | 404): Price {
  const known = store.prices.get(id);
  if (known !== undefined) return known;
  if (!id.startsWith("price_") || id.includes("missing")) throw resourceMissing("price", id, param, status);
  const price = buildPrice(id, now(store));
  store.prices.set(id, price);
  return price;
}

/** GET /v1/prices/:id. */
export function retrievePrice(context: ApiContext): Price {
  return priceOrThrow(context.store, pathId(context), "id", 404);
}
