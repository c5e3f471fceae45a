import type { RateLimit } from "../config.ts";

// A token bucket per caller: `burst` tokens, refilled at `perSecond`; one request takes one token.
// The arithmetic is a pure function of (state, limit, now), so it is table-tested without waiting.

export interface Bucket {
  readonly tokens: number;
  /** The clock reading (ms) at which `tokens` was last computed. */
  readonly atMs: number;
}

export interface Take {
  readonly bucket: Bucket;
  /** 0: allowed (a token was taken); else the ms until a token will be there (nothing taken). */
  readonly waitMs: number;
}

/** Refills `bucket` up to `now` and takes one token if there is one. */
export function takeToken(bucket: Bucket | undefined, limit: RateLimit, nowMs: number): Take {
  const elapsedMs = bucket === undefined ? 0 : Math.max(0, nowMs - bucket.atMs);
  const tokens =
    bucket === undefined
      ? limit.burst
      : Math.min(limit.burst, bucket.tokens + (elapsedMs * limit.perSecond) / 1000);
  if (tokens >= 1) return { bucket: { tokens: tokens - 1, atMs: nowMs }, waitMs: 0 };
  // The epsilon absorbs float drift (0.998 tokens at 2/s is 1 ms, not 1.0000000000000009).
  const waitMs = Math.max(1, Math.ceil(((1 - tokens) * 1000) / limit.perSecond - 1e-6));
  return { bucket: { tokens, atMs: nowMs }, waitMs };
}

/** Whole seconds for a Retry-After header: at least 1. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

export interface RateLimiter<K> {
  /** 0 when `key` may go ahead now, else the ms it must wait. */
  take(key: K): number;
}

/** One bucket per key (a configured token: a small, fixed set); the clock is injectable for tests. */
export function createRateLimiter<K>(
  limit: RateLimit,
  now: () => number = performance.now.bind(performance),
): RateLimiter<K> {
  const buckets = new Map<K, Bucket>();
  return {
    take(key) {
      const result = takeToken(buckets.get(key), limit, now());
      buckets.set(key, result.bucket);
      return result.waitMs;
    },
  };
}
