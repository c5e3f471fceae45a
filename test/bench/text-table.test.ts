import { describe, expect, it } from "vitest";
import { renderTable } from "../../ops/bench/text-table.ts";

describe("renderTable", () => {
  it("aligns the first column left and the others right", () => {
    expect(
      renderTable(
        ["name", "n"],
        [
          ["a", "1"],
          ["long", "1,000"],
        ],
      ).split("\n"),
    ).toEqual(["name      n", "────  ─────", "a         1", "long  1,000"]);
  });
});
