import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { machines } from "../../lib/domain/snapshot-order.ts";
import { appliedStripeEventTypes } from "../../lib/domain/stripe-change.ts";

// ARCHITECTURE.md draws each state machine; this keeps the drawings equal to the code's tables, so
// the document cannot drift from lib/domain/*-status.ts (in either direction).

const document = readFileSync(new URL("../../ARCHITECTURE.md", import.meta.url), "utf8");

interface Diagram {
  machine: string;
  transitions: string[];
  terminal: string[];
}

/** Every ```mermaid stateDiagram-v2 block, strictly: header, `%% machine: name`, and edges only. */
function stateDiagrams(text: string): Diagram[] {
  const blocks = [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  return blocks
    .filter((block) => block.trimStart().startsWith("stateDiagram-v2"))
    .map((block) => {
      const diagram: Diagram = { machine: "", transitions: [], terminal: [] };
      for (const raw of block.split("\n").slice(1)) {
        const line = raw.trim();
        if (line === "") continue;
        const machine = /^%% machine: (\w+)$/.exec(line);
        const edge = /^(\w+) --> (\w+|\[\*\])(?:\s*:.*)?$/.exec(line);
        if (machine?.[1] !== undefined) diagram.machine = machine[1];
        else if (edge?.[1] !== undefined && edge[2] === "[*]") diagram.terminal.push(edge[1]);
        else if (edge?.[1] !== undefined && edge[2] !== undefined)
          diagram.transitions.push(`${edge[1]} --> ${edge[2]}`);
        else throw new Error(`ARCHITECTURE.md: a state diagram line the check cannot read: "${line}"`);
      }
      return diagram;
    });
}

const diagrams = stateDiagrams(document);

describe("ARCHITECTURE.md state diagrams", () => {
  it("draw each machine exactly once", () => {
    expect(diagrams.map((d) => d.machine).sort()).toEqual(
      Object.values(machines)
        .map((m) => m.name)
        .sort(),
    );
  });

  describe.each(Object.values(machines).map((m) => [m.name, m] as const))("%s", (name, machine) => {
    const diagram = diagrams.find((d) => d.machine === name);

    // exactly the transitions table: nothing missing, nothing extra, nothing twice
    it("lists exactly the code's transitions", () => {
      const code = machine.transitions.map(([from, to]) => `${from} --> ${to}`);
      expect(diagram?.transitions.slice().sort()).toEqual(code.slice().sort());
      expect(new Set(diagram?.transitions).size).toBe(diagram?.transitions.length);
    });

    it("marks exactly the terminal statuses", () => {
      expect(diagram?.terminal.slice().sort()).toEqual([...machine.terminal].sort());
    });
  });
});

describe("ARCHITECTURE.md", () => {
  // the family table names every event type the handler table applies, and no other
  it("names exactly the applied Stripe event types in the family table", () => {
    const start = document.indexOf("| family | planner | event types |");
    const rows = document.slice(start).split("\n\n")[0]?.split("\n").slice(2) ?? [];
    const named = rows.flatMap((row) =>
      [...(row.split("|")[3] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]),
    );
    expect(named.slice().sort()).toEqual([...appliedStripeEventTypes].sort());
  });

  // the parser is strict: a line it cannot read fails loudly instead of being skipped
  it("rejects a state diagram line it cannot read", () => {
    expect(() => stateDiagrams("```mermaid\nstateDiagram-v2\n  %% machine: x\n  a -> b\n```")).toThrow(
      /cannot read: "a -> b"/,
    );
  });
});
