import { describe, expect, it } from "vitest";
import { backoffMs } from "../../lib/domain/backoff.ts";

// A throttled call waits what the remote asked for, else exponentially; never past the cap, so a
// storm slows work down without parking it for days.
const settings = { baseMs: 100, maxMs: 5000 };

describe("backoffMs", () => {
  it.each([
    [1, undefined, 100],
    [2, undefined, 200],
    [3, undefined, 400],
    [6, undefined, 3200],
    [7, undefined, 5000],
    [1000, undefined, 5000],
    [1, 2000, 2000],
    [9, 2000, 2000],
    [1, 60_000, 5000],
    // "Retry-After: 0" or garbage is no hint
    [2, 0, 200],
    [2, Number.NaN, 200],
    [2, -5, 200],
  ])("attempt %i, Retry-After %s ms → %i ms", (attempt, retryAfter, expected) => {
    expect(backoffMs(attempt, retryAfter, settings)).toBe(expected);
  });

  it.each([0, -1, 1.5])("refuses attempt %d", (attempt) => {
    expect(() => backoffMs(attempt, undefined, settings)).toThrow(RangeError);
  });
});
