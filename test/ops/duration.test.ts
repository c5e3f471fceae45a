import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../lib/ops/duration.ts";

describe("parseDuration", () => {
  // Retention and reconciliation windows are typed by operators: the units must mean what they say.
  it.each([
    ["30m", 30 * 60_000],
    ["12h", 12 * 3_600_000],
    ["3d", 3 * 86_400_000],
    ["90d", 90 * 86_400_000],
    ["45s", 45_000],
    ["2w", 14 * 86_400_000],
    [" 7d ", 7 * 86_400_000],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  // Anything ambiguous is refused rather than guessed (is "90" minutes or days?).
  it.each(["", "90", "d", "3 d", "1.5h", "-3d", "3D", "3days", "0d", "1y", "10000000000d"])(
    "refuses %j",
    (text) => {
      expect(() => parseDuration(text)).toThrow(/not a duration/);
    },
  );
});

describe("formatDuration", () => {
  it.each([
    [3 * 86_400_000, "3d"],
    [90 * 60_000, "90m"],
    [14 * 86_400_000, "2w"],
    [36 * 3_600_000, "36h"],
    [1500, "1500ms"],
  ])("%d ms is %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("round-trips what parseDuration accepts", () => {
    for (const text of ["30m", "12h", "3d", "45s", "2w"])
      expect(formatDuration(parseDuration(text))).toBe(text);
  });
});
