import type { ApiContext } from "../api-context.ts";

/** GET /v1/balance: an empty test-mode balance (lets a health check prove the key works). */
export function retrieveBalance(_context: ApiContext) {
  return {
    object: "balance",
    available: [{ amount: 0, currency: "usd", source_types: { card: 0 } }],
    pending: [{ amount: 0, currency: "usd", source_types: { card: 0 } }],
    livemode: false,
  };
}
