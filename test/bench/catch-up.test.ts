import { expect, it } from "vitest";
import { catchUp } from "../../ops/bench/catch-up.ts";

// The outage run's figure: how big the backlog was when the database came back, and how long and
// how fast the fleet took to apply it while the load kept coming.

// 10 webhooks/s accepted from t=0 to t=60 s; the database was away from 10 s to 40 s.
const accepted = Array.from({ length: 600 }, (_, i) => i * 100);
const restoredAt = 40_000;

it("measures the backlog at restore and the time and rate to catch up", () => {
  const samples: Array<[number, number]> = [
    [9_000, 90],
    [40_000, 100], // nothing applied during the outage
    [45_000, 300],
    [50_000, 495], // every webhook accepted by 49 s is applied: caught up
    [55_000, 545],
  ];
  const result = catchUp(accepted, samples, restoredAt);
  expect(result.backlogAtRestore).toBe(401 - 100);
  expect(result.catchUpSeconds).toBe(10);
  expect(result.catchUpEventsPerS).toBeCloseTo(39.5);
  expect(result.backlogDrainPerS).toBeCloseTo(30.1);
});

it("says so when applying never caught up", () => {
  const result = catchUp(
    accepted,
    [
      [40_000, 100],
      [60_000, 300],
    ],
    restoredAt,
  );
  expect(result).toEqual({
    backlogAtRestore: 301,
    catchUpSeconds: undefined,
    catchUpEventsPerS: undefined,
    backlogDrainPerS: undefined,
  });
});

it("counts no backlog, and catches up at once, when nothing was left", () => {
  const result = catchUp(
    [1_000, 2_000],
    [
      [39_000, 2],
      [40_500, 2],
    ],
    restoredAt,
  );
  expect(result.backlogAtRestore).toBe(0);
  expect(result.catchUpSeconds).toBe(0.5);
});
