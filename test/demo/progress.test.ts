import { describe, expect, it } from "vitest";
import { overallFraction, renderBar } from "../../ops/demo/progress.ts";

describe("progress", () => {
  it("draws the bar filled in proportion, with the label", () => {
    expect(renderBar(0.5, "deposits 10/20")).toBe(
      `[${"#".repeat(14)}${"·".repeat(14)}]  50%  deposits 10/20`,
    );
    expect(renderBar(2, "x")).toContain("100%");
    expect(renderBar(-1, "x")).toContain("  0%");
  });

  // A narrow terminal must not wrap the line (a wrapped bar cannot be redrawn in place).
  it("never exceeds the terminal width", () => {
    expect(renderBar(0.3, "a very long label ".repeat(10), 60).length).toBeLessThanOrEqual(59);
  });

  it("counts whole phases plus the share of the current one", () => {
    expect(overallFraction(0, 4, 0, 10)).toBe(0);
    expect(overallFraction(1, 4, 5, 10)).toBe(0.375);
    expect(overallFraction(3, 4, 10, 10)).toBe(1);
    expect(overallFraction(2, 4, 3, 0)).toBe(0.5);
  });
});
