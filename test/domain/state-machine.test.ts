import { describe, expect, it } from "vitest";
import { defineStateMachine, type StateMachineDefinition } from "../../lib/domain/state-machine.ts";

type S = "a" | "b" | "c";
const valid: StateMachineDefinition<S> = {
  name: "test",
  statuses: ["a", "b", "c"],
  terminal: ["c"],
  rank: { a: 0, b: 1, c: 2 },
  transitions: [
    ["a", "b"],
    ["b", "c"],
  ],
};

// A broken definition (a tie in rank, a terminal that can be left) would silently break the
// forward-only order, so it must fail when the module loads, not when an event arrives.
describe("defineStateMachine", () => {
  it("builds a frozen machine", () => {
    const machine = defineStateMachine(valid);
    expect(machine.statuses).toEqual(["a", "b", "c"]);
    expect([...machine.terminal]).toEqual(["c"]);
    expect(machine.transitions).toEqual([
      ["a", "b"],
      ["b", "c"],
    ]);
    expect(Object.isFrozen(machine)).toBe(true);
    expect(Object.isFrozen(machine.rank)).toBe(true);
    expect(Object.isFrozen(machine.transitions[0])).toBe(true);
    expect(machine.isTerminal("c")).toBe(true);
    expect(machine.isTerminal("a")).toBe(false);
  });

  it.each<[string, Partial<StateMachineDefinition<S>>, string]>([
    ["duplicate status", { statuses: ["a", "b", "b"] }, "duplicate status"],
    ["missing rank", { rank: { a: 0, b: 1 } as Record<S, number> }, "every status needs an integer rank"],
    ["fractional rank", { rank: { a: 0, b: 0.5, c: 2 } }, "every status needs an integer rank"],
    ["tied rank", { rank: { a: 0, b: 1, c: 1 } }, "ranks must be distinct"],
    [
      "unknown ranked",
      { rank: { a: 0, b: 1, c: 2, d: 3 } as Record<S, number> },
      "rank names an unknown status",
    ],
    ["unknown terminal", { terminal: ["d" as S] }, "terminal names an unknown status"],
    ["unknown transition", { transitions: [["a", "d" as S]] }, "transition a → d names an unknown status"],
    ["self transition", { transitions: [["a", "a"]] }, "transition a → a is not a change"],
    [
      "twice",
      {
        transitions: [
          ["a", "b"],
          ["a", "b"],
        ],
      },
      "transition a → b is listed twice",
    ],
    ["leaves terminal", { transitions: [["c", "a"]] }, "transition c → a leaves a terminal status"],
  ])("refuses a %s", (_, change, message) => {
    expect(() => defineStateMachine({ ...valid, ...change })).toThrow(`state machine test: ${message}`);
  });
});
