import { expect, it } from "vitest";
import type { StateMachine } from "../../lib/domain/state-machine.ts";

/** What a test states about a machine, written independently of the code's tables. */
export interface ExpectedMachine<S extends string> {
  statuses: readonly S[];
  terminal: readonly S[];
  /** Progress order, lowest first. */
  progress: readonly S[];
  /** Every status change Stripe can make, as `from → [to…]`. */
  next: Readonly<Record<S, readonly S[]>>;
}

/** Exhaustive checks over every status and every (from, to) pair. */
export function checkMachine<S extends string>(machine: StateMachine<S>, expected: ExpectedMachine<S>): void {
  const pairs = expected.statuses.flatMap((from) => expected.statuses.map((to) => [from, to] as const));

  it("lists exactly the expected statuses and terminal statuses", () => {
    expect(machine.statuses).toEqual(expected.statuses);
    expect([...machine.terminal].sort()).toEqual([...expected.terminal].sort());
    for (const s of expected.statuses) expect(machine.isTerminal(s)).toBe(expected.terminal.includes(s));
  });

  it("ranks the statuses in progress order", () => {
    const byRank = [...expected.statuses].sort((a, b) => machine.rank[a] - machine.rank[b]);
    expect(byRank).toEqual(expected.progress);
  });

  it("recognises its statuses and nothing else", () => {
    for (const s of expected.statuses) expect(machine.isStatus(s)).toBe(true);
    for (const s of ["", "SUCCEEDED", "unknown", " active", null, undefined, 1, {}]) {
      expect(machine.isStatus(s)).toBe(false);
    }
    // inherited property names must not pass as statuses
    expect(machine.isStatus("constructor")).toBe(false);
    expect(machine.isStatus("toString")).toBe(false);
  });

  it.each(pairs)("canTransition(%s, %s) matches the expected table", (from, to) => {
    expect(machine.canTransition(from, to)).toBe(from === to || expected.next[from].includes(to));
  });

  it("lists exactly the expected transitions", () => {
    const listed = machine.transitions.map(([from, to]) => `${from} → ${to}`).sort();
    const wanted = expected.statuses
      .flatMap((from) => expected.next[from].map((to) => `${from} → ${to}`))
      .sort();
    expect(listed).toEqual(wanted);
  });

  // Stripe never leaves a terminal status: nothing may lead out of one.
  it("never leaves a terminal status", () => {
    for (const [from, to] of pairs) {
      if (machine.isTerminal(from) && from !== to) expect(machine.canTransition(from, to)).toBe(false);
    }
  });

  it("reaches every status from the first one", () => {
    const first = expected.statuses[0] as S;
    const reached = new Set<S>([first]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [from, to] of machine.transitions) {
        if (reached.has(from) && !reached.has(to)) {
          reached.add(to);
          grew = true;
        }
      }
    }
    expect([...reached].sort()).toEqual([...expected.statuses].sort());
  });
}
