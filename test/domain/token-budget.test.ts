import { describe, expect, it } from "vitest";
import { budgetLimit, fullBudget, needed, refill, take } from "../../lib/domain/token-budget.ts";

// The shared Stripe budget's arithmetic: refill at the rate up to the burst, commands take any
// token, background calls leave the reserve for commands, and a refusal says how long to wait.

const limit = budgetLimit(4); // burst 4, reserve 2

describe("budgetLimit", () => {
  it.each([
    [1, { perSecond: 1, burst: 1, reserve: 0 }],
    [4, { perSecond: 4, burst: 4, reserve: 2 }],
    [20, { perSecond: 20, burst: 20, reserve: 10 }],
    [0.5, { perSecond: 0.5, burst: 1, reserve: 0 }],
  ])("%d/s → %j", (rate, expected) => {
    expect(budgetLimit(rate)).toEqual(expected);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])("refuses %d", (rate) => {
    expect(() => budgetLimit(rate)).toThrow(RangeError);
  });
});

describe("take", () => {
  it.each([
    // [tokens before, at ms (from 0), priority, allowed, tokens after, waitMs]
    [4, 0, "command", true, 3, 0],
    [4, 0, "background", true, 3, 0],
    [3, 0, "background", true, 2, 0],
    // background leaves 2 for commands
    [2, 0, "background", false, 2, 250],
    [2, 0, "command", true, 1, 0],
    [0, 0, "command", false, 0, 250],
    [0, 0, "background", false, 0, 750],
    [0, 250, "command", true, 0, 0],
    [0, 100, "command", false, 0.4, 150],
    // never above the burst
    [0, 60_000, "background", true, 3, 0],
  ] as const)(
    "%d tokens, %i ms later, %s → allowed %s, %d left, wait %i",
    (tokens, at, priority, ok, left, wait) => {
      const result = take({ tokens, atMs: 0 }, limit, priority, at);
      expect(result.waitMs === 0).toBe(ok);
      expect(result.state.tokens).toBeCloseTo(left, 9);
      expect(result.waitMs).toBe(wait);
    },
  );

  it("refills nothing when the clock goes back", () => {
    expect(refill({ tokens: 1, atMs: 1000 }, limit, 0)).toEqual({ tokens: 1, atMs: 0 });
  });

  it("starts full, and needs one token for a command, 1 + reserve for background", () => {
    expect(fullBudget(limit, 7)).toEqual({ tokens: 4, atMs: 7 });
    expect(needed("command", limit)).toBe(1);
    expect(needed("background", limit)).toBe(3);
  });

  // Over a long run, background alone still gets the full rate: the reserve is a floor, not a cut.
  it("lets background calls use the whole rate when no command competes", () => {
    let state = fullBudget(limit, 0);
    let granted = 0;
    for (let at = 0; at <= 10_000; at += 10) {
      const result = take(state, limit, "background", at);
      state = result.state;
      if (result.waitMs === 0) granted += 1;
    }
    // 4/s for 10 s, plus what the full bucket held above the reserve
    expect(granted).toBeGreaterThanOrEqual(41);
    expect(granted).toBeLessThanOrEqual(42);
  });
});
