import { describe, expect, it } from "vitest";
import { createRateLimiter, retryAfterSeconds, takeToken } from "../../lib/http/token-bucket.ts";

const limit = { perSecond: 2, burst: 3 };

describe("takeToken", () => {
  // The arithmetic of the bucket: a full burst at first, refill at the rate, never above the burst,
  // and a refusal says how long until the next token (without taking one).
  it.each([
    // [bucket before, now ms, allowed, tokens after, waitMs]
    [undefined, 0, true, 2, 0],
    [{ tokens: 1, atMs: 0 }, 0, true, 0, 0],
    [{ tokens: 0, atMs: 0 }, 0, false, 0, 500],
    [{ tokens: 0, atMs: 0 }, 250, false, 0.5, 250],
    [{ tokens: 0, atMs: 0 }, 499, false, 0.998, 1],
    [{ tokens: 0, atMs: 0 }, 500, true, 0, 0],
    [{ tokens: 0, atMs: 0 }, 60_000, true, 2, 0],
    [{ tokens: 3, atMs: 0 }, 10_000, true, 2, 0],
    // a clock that goes back refills nothing
    [{ tokens: 0.5, atMs: 1000 }, 0, false, 0.5, 250],
  ] as const)("%j at %i ms → allowed %s, %d left, wait %i ms", (bucket, now, allowed, tokens, waitMs) => {
    const result = takeToken(bucket, limit, now);
    expect(result.waitMs === 0).toBe(allowed);
    expect(result.bucket.tokens).toBeCloseTo(tokens, 9);
    expect(result.waitMs).toBe(waitMs);
    expect(result.bucket.atMs).toBe(now);
  });

  it.each([
    [1, 1],
    [999, 1],
    [1000, 1],
    [1001, 2],
    [4500, 5],
  ])("Retry-After for %i ms is %i s", (waitMs, seconds) => {
    expect(retryAfterSeconds(waitMs)).toBe(seconds);
  });
});

describe("createRateLimiter", () => {
  // Each key has its own bucket: one noisy caller never throttles another.
  it("keeps one bucket per key on the injected clock", () => {
    let now = 0;
    const limiter = createRateLimiter<string>({ perSecond: 1, burst: 2 }, () => now);
    expect([limiter.take("a"), limiter.take("a"), limiter.take("a")]).toEqual([0, 0, 1000]);
    expect(limiter.take("b")).toBe(0);
    now = 400;
    expect(limiter.take("a")).toBe(600);
    now = 1000;
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBe(1000);
  });
});
