import { describe, expect, it } from "vitest";
import { PermanentError, TransientError } from "../../lib/domain/errors.ts";
import { decide, parseAttempts, quickRetryOptions, retryQueueName } from "../../lib/domain/retry-policy.ts";

// The retry policy decides whether a message is retried (and where) or parked: a permanent error
// must never be retried, a transient one must never be parked before the ladder is used up.

const ladder = [5000, 30_000, 120_000, 600_000, 1_800_000] as const;
const transient = new TransientError("deadlock", "deadlock detected");
const permanent = new PermanentError("invalid_event", "amount missing");
const retry = (delayMs: number) => ({ action: "retry", delayMs, queue: `billing_queue.retry.${delayMs}` });

describe("decide", () => {
  it.each<[string, unknown, number, readonly number[], object]>([
    ["permanent on a first delivery", permanent, 0, ladder, { action: "dead-letter", kind: "permanent" }],
    ["permanent late in the ladder", permanent, 4, ladder, { action: "dead-letter", kind: "permanent" }],
    ["permanent past the ladder", permanent, 9, ladder, { action: "dead-letter", kind: "permanent" }],
    ["transient, first delivery", transient, 0, ladder, retry(5000)],
    ["transient, second step", transient, 1, ladder, retry(30_000)],
    ["transient, last step", transient, 4, ladder, retry(1_800_000)],
    ["transient, ladder used up", transient, 5, ladder, { action: "dead-letter", kind: "exhausted" }],
    ["transient, far past the ladder", transient, 50, ladder, { action: "dead-letter", kind: "exhausted" }],
    ["unknown Error counts as transient", new Error("ECONNRESET"), 0, ladder, retry(5000)],
    ["a thrown string counts as transient", "boom", 2, ladder, retry(120_000)],
    ["undefined counts as transient", undefined, 3, ladder, retry(600_000)],
    [
      "unknown throw, ladder used up",
      new Error("x"),
      5,
      ladder,
      { action: "dead-letter", kind: "exhausted" },
    ],
    ["empty ladder: no delayed retries", transient, 0, [], { action: "dead-letter", kind: "exhausted" }],
    ["empty ladder, permanent", permanent, 0, [], { action: "dead-letter", kind: "permanent" }],
  ])("%s", (_, error, attempt, steps, decision) => {
    expect(decide(error, attempt, steps)).toEqual(decision);
  });

  // Retry-After (e.g. Stripe 429) picks the first ladder step that waits long enough, bounded by the ladder.
  it.each<[number | undefined, number, number]>([
    [undefined, 0, 5000],
    [0, 0, 5000],
    [1000, 0, 5000],
    [5000, 0, 5000],
    [5001, 0, 30_000],
    [60_000, 0, 120_000],
    [60_000, 3, 600_000],
    [1_800_000, 0, 1_800_000],
    [86_400_000, 0, 1_800_000],
    [86_400_000, 4, 1_800_000],
    [-5, 1, 30_000],
    [Number.NaN, 1, 30_000],
    [Number.POSITIVE_INFINITY, 1, 30_000],
  ])("retryAfterMs %s at attempt %s → %s", (retryAfterMs, attempt, delayMs) => {
    const error = new TransientError("stripe_rate_limited", "429", { retryAfterMs: retryAfterMs as number });
    expect(decide(error, attempt, ladder)).toEqual(retry(delayMs));
  });

  it("never outlives the ladder because of retryAfterMs", () => {
    const error = new TransientError("stripe_rate_limited", "429", { retryAfterMs: 1000 });
    expect(decide(error, 5, ladder)).toEqual({ action: "dead-letter", kind: "exhausted" });
  });

  it("bounds by the ladder's largest step when the ladder is not sorted", () => {
    const error = new TransientError("stripe_rate_limited", "429", { retryAfterMs: 90_000 });
    expect(decide(error, 0, [1000, 60_000, 10_000])).toEqual(retry(60_000));
  });

  it.each<[number, readonly number[]]>([
    [-1, ladder],
    [1.5, ladder],
    [Number.NaN, ladder],
    [0, [1000, 0]],
    [0, [1000, 2.5]],
    [0, [-1]],
  ])("refuses attempt %s with ladder %j", (attempt, steps) => {
    expect(() => decide(transient, attempt, steps)).toThrow(RangeError);
  });
});

describe("retryQueueName", () => {
  it.each([
    [5000, "billing_queue.retry.5000"],
    [1_800_000, "billing_queue.retry.1800000"],
  ])("%s → %s", (ms, name) => {
    expect(retryQueueName(ms)).toBe(name);
  });
});

// x-attempts is our own header (not x-death); anything unreadable counts as a first delivery.
describe("parseAttempts", () => {
  it.each<[unknown, number]>([
    [undefined, 0],
    [null, 0],
    [0, 0],
    [3, 3],
    ["4", 4],
    ["04", 4],
    ["-1", 0],
    [-1, 0],
    [1.5, 0],
    ["1.5", 0],
    ["abc", 0],
    ["", 0],
    [{}, 0],
  ])("%j → %s", (header, attempts) => {
    expect(parseAttempts(header)).toBe(attempts);
  });
});

describe("quickRetryOptions", () => {
  it("are a few quick jittered retries, frozen", () => {
    expect(quickRetryOptions).toEqual({ retries: 2, minTimeout: 20, maxTimeout: 200, randomize: true });
    expect(Object.isFrozen(quickRetryOptions)).toBe(true);
  });
});
