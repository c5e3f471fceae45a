import { createHash } from "node:crypto";
import type { Params } from "./form.ts";

/** A response kept for replay: the exact status and body first sent. */
export interface StoredResponse {
  readonly status: number;
  readonly body: string;
  readonly requestId: string;
}

/** What a request with an `Idempotency-Key` meets. */
export type IdempotencyLookup =
  | { readonly kind: "new" }
  | { readonly kind: "replay"; readonly response: StoredResponse }
  | { readonly kind: "conflict"; readonly message: string };

interface Entry {
  readonly endpoint: string;
  readonly paramsHash: string;
  readonly response: StoredResponse;
  readonly savedAt: number;
}

/** Stripe keeps keys for 24 hours; the emulator also caps how many it holds. */
export const idempotencyTtlMs = 24 * 60 * 60 * 1000;
export const defaultIdempotencyCapacity = 200_000;

/** Stripe-style idempotency: per API key, the first response to a key is replayed for the same request. */
export interface IdempotencyCache {
  lookup(apiKey: string, key: string, endpoint: string, params: Params): IdempotencyLookup;
  save(apiKey: string, key: string, endpoint: string, params: Params, response: StoredResponse): void;
  clear(): void;
  readonly size: number;
}

/** An idempotency cache bounded by capacity (oldest keys go first) and by the 24-hour window. */
export function createIdempotencyCache(capacity = defaultIdempotencyCapacity): IdempotencyCache {
  const entries = new Map<string, Entry>();
  const scoped = (apiKey: string, key: string) => `${apiKey}\u0000${key}`;
  return {
    lookup(apiKey, key, endpoint, params) {
      const entry = entries.get(scoped(apiKey, key));
      if (entry === undefined) return { kind: "new" };
      if (Date.now() - entry.savedAt > idempotencyTtlMs) {
        entries.delete(scoped(apiKey, key));
        return { kind: "new" };
      }
      if (entry.endpoint !== endpoint) {
        return {
          kind: "conflict",
          message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${entry.endpoint}' vs '${endpoint}'). Try using a key other than '${key}' if you meant to execute a different request.`,
        };
      }
      if (entry.paramsHash !== hashParams(params)) {
        return {
          kind: "conflict",
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        };
      }
      return { kind: "replay", response: entry.response };
    },
    save(apiKey, key, endpoint, params, response) {
      entries.set(scoped(apiKey, key), {
        endpoint,
        paramsHash: hashParams(params),
        response,
        savedAt: Date.now(),
      });
      if (entries.size > capacity) {
        const oldest = entries.keys().next();
        if (oldest.done !== true) entries.delete(oldest.value);
      }
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}

/** A hash of the params that ignores key order, as Stripe compares decoded parameters. */
function hashParams(params: Params): string {
  return createHash("sha256").update(canonicalJson(params)).digest("hex");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
