import { describe, expect, it } from "vitest";
import { shareOfLimit, smallestNearBest, targets, withinMemory } from "../../ops/bench/report.ts";

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

describe("withinMemory", () => {
  // A recommended setting becomes a default, and the defaults must meet the RSS target.
  it("keeps the runs under the RSS target, or all when none is", () => {
    const under = { batchSize: 250, peakRssMiB: targets.workerRssMiB - 5 };
    const over = { batchSize: 500, peakRssMiB: targets.workerRssMiB + 10 };
    expect(withinMemory([under, over])).toEqual([under]);
    expect(withinMemory([over])).toEqual([over]);
  });
});

describe("shareOfLimit", () => {
  // Every apply figure is read against the limit measured in the same run.
  it("gives a rate as a percentage of the run's limit, or a dash without one", () => {
    expect(shareOfLimit({ limit: { eventsPerS: 12_500 } }, 5000)).toBe("40%");
    expect(shareOfLimit({ limit: undefined }, 5000)).toBe("–");
  });
});
