import type { Params } from "./form.ts";

/** One Stripe API request as the emulator saw it (for tests: "no Stripe call", "exactly one PaymentIntent"). */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. /v1/payment_intents. */
  path: string;
  idempotencyKey: string | null;
  /** Decoded form body (POST) or query (GET, DELETE). */
  params: Params;
  status: number;
  /** True when the answer was a stored idempotent response. */
  replayed: boolean;
  /** True when the answer was an injected fault. */
  injectedFault: boolean;
  /** Wall-clock ms. */
  at: number;
}

export const defaultRequestLogCapacity = 100_000;

/** The most recent requests, oldest first, in a ring so memory stays bounded. */
export interface RequestLog {
  add(request: RecordedRequest): void;
  list(): RecordedRequest[];
  clear(): void;
}

/** A request log keeping the last `capacity` requests. */
export function createRequestLog(capacity = defaultRequestLogCapacity): RequestLog {
  let ring: RecordedRequest[] = [];
  let next = 0;
  return {
    add(request) {
      if (ring.length < capacity) ring.push(request);
      else ring[next] = request;
      next = (next + 1) % capacity;
    },
    list() {
      return ring.length < capacity ? [...ring] : [...ring.slice(next), ...ring.slice(0, next)];
    },
    clear() {
      ring = [];
      next = 0;
    },
  };
}
