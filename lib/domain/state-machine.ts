// One shape for the three state machines (payments, subscriptions, invoices), so the forward-only
// rule in snapshot-order.ts and the diagrams in the docs treat them alike.

export interface StateMachine<S extends string> {
  readonly name: string;
  /** Every status, in the provider's documented order. */
  readonly statuses: readonly S[];
  /** Absorbing statuses: Stripe never leaves them. */
  readonly terminal: ReadonlySet<S>;
  /** Progress order, used only to break ties between snapshots of the same second. */
  readonly rank: Readonly<Record<S, number>>;
  /** The status changes Stripe can make, for docs and for warning on unexpected ones. */
  readonly transitions: readonly (readonly [S, S])[];
  isStatus(s: unknown): s is S;
  isTerminal(s: S): boolean;
  /** True for a listed change, and for staying in a status (an update that keeps it). */
  canTransition(from: S, to: S): boolean;
}

export interface StateMachineDefinition<S extends string> {
  name: string;
  statuses: readonly S[];
  terminal: readonly S[];
  rank: Record<S, number>;
  transitions: readonly (readonly [S, S])[];
}

/** Builds a machine, checking its definition once at load: ranks distinct, terminals absorbing. */
export function defineStateMachine<S extends string>(definition: StateMachineDefinition<S>): StateMachine<S> {
  const { name, statuses } = definition;
  const known = new Set<string>(statuses);
  const problem = definitionProblem(definition, known);
  if (problem !== undefined) throw new Error(`state machine ${name}: ${problem}`);
  const terminal: ReadonlySet<S> = new Set(definition.terminal);
  const allowed = new Set(definition.transitions.map(([from, to]) => `${from}>${to}`));
  const isStatus = (s: unknown): s is S => typeof s === "string" && known.has(s);
  return Object.freeze({
    name,
    statuses: Object.freeze([...statuses]),
    terminal,
    rank: Object.freeze({ ...definition.rank }),
    transitions: Object.freeze(
      definition.transitions.map((pair) => Object.freeze([pair[0], pair[1]] as const)),
    ),
    isStatus,
    isTerminal: (s: S) => terminal.has(s),
    canTransition: (from: S, to: S) => from === to || allowed.has(`${from}>${to}`),
  });
}

function definitionProblem<S extends string>(
  definition: StateMachineDefinition<S>,
  known: Set<string>,
): string | undefined {
  const { statuses, terminal, rank, transitions } = definition;
  if (known.size !== statuses.length) return "duplicate status";
  const ranks = statuses.map((s) => rank[s]);
  if (ranks.some((r) => !Number.isInteger(r))) return "every status needs an integer rank";
  if (new Set(ranks).size !== ranks.length) return "ranks must be distinct (they break ties)";
  if (Object.keys(rank).length !== statuses.length) return "rank names an unknown status";
  if (terminal.some((s) => !known.has(s))) return "terminal names an unknown status";
  const seen = new Set<string>();
  for (const [from, to] of transitions) {
    if (seen.has(`${from}>${to}`)) return `transition ${from} → ${to} is listed twice`;
    seen.add(`${from}>${to}`);
    if (!known.has(from) || !known.has(to)) return `transition ${from} → ${to} names an unknown status`;
    if (from === to) return `transition ${from} → ${to} is not a change`;
    if (terminal.includes(from)) return `transition ${from} → ${to} leaves a terminal status`;
  }
  return undefined;
}
