import { describe, expect, it } from "vitest";
import { percentile } from "../../ops/bench/percentile.ts";

describe("percentile", () => {
  it("is the nearest-rank percentile", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  // The input is a list of measurements the caller keeps using: it must not be reordered.
  it("does not sort the caller's array", () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });
});
