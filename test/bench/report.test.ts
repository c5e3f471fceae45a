import { describe, expect, it } from "vitest";
import { smallestNearBest } from "../../ops/bench/report.ts";

describe("smallestNearBest", () => {
  // The recommended prefetch/pool is the smallest that is within 5% of the best rate: less in
  // flight for the same throughput.
  it("picks the smallest value within 5% of the best rate", () => {
    const runs = [
      { prefetch: 10, rate: 800 },
      { prefetch: 50, rate: 1000 },
      { prefetch: 200, rate: 960 },
    ];
    expect(
      smallestNearBest(
        runs,
        (r) => r.prefetch,
        (r) => r.rate,
      )?.prefetch,
    ).toBe(50);
    expect(
      smallestNearBest(
        [...runs, { prefetch: 20, rate: 951 }],
        (r) => r.prefetch,
        (r) => r.rate,
      )?.prefetch,
    ).toBe(20);
    expect(
      smallestNearBest(
        [],
        (r: { p: number }) => r.p,
        () => 0,
      ),
    ).toBeUndefined();
  });
});
