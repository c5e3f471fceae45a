import { describe, expect, it } from "vitest";
import { DemoUsageError, defaultEvents, parseDemoArgs } from "../../ops/demo/args.ts";

describe("parseDemoArgs", () => {
  it("has defaults and reads --events and --seed", () => {
    expect(parseDemoArgs([])).toEqual({ events: defaultEvents, seed: 1, keep: false });
    expect(parseDemoArgs(["--events", "5000", "--seed", "9"])).toEqual({
      events: 5000,
      seed: 9,
      keep: false,
    });
    expect(parseDemoArgs(["--keep"])).toEqual({ events: defaultEvents, seed: 1, keep: true });
    expect(parseDemoArgs(["--help"])).toBe("help");
  });

  // A bad flag is a usage error (exit 2), never a half-started fleet.
  it("refuses bad values and unknown flags", () => {
    expect(() => parseDemoArgs(["--events", "lots"])).toThrow(DemoUsageError);
    expect(() => parseDemoArgs(["--events", "10"])).toThrow(/between/);
    expect(() => parseDemoArgs(["--nope"])).toThrow(DemoUsageError);
  });
});
