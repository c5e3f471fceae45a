import { invoiceMachine } from "./invoice-status.ts";
import { paymentMachine } from "./payment-status.ts";
import type { StateMachine } from "./state-machine.ts";
import { subscriptionMachine } from "./subscription-status.ts";

// The Contract's forward-only rule as a total order on snapshots: (terminal, event.created, rank,
// event id), compared lexicographically. The stored snapshot is the maximum of the events seen, so
// the final state depends on the SET of events, never on the order they arrive in.

/** What orders one snapshot of an entity: its status and the Stripe event that carried it. */
export interface SnapshotKey<S extends string = string> {
  status: S;
  /** event.created, in unix seconds. */
  eventCreated: number;
  eventId: string;
}

export const machines = {
  payment: paymentMachine,
  subscription: subscriptionMachine,
  invoice: invoiceMachine,
} as const;

/** Negative, zero or positive as `a` orders before, equal to, or after `b`. */
export function compareSnapshots<S extends string>(
  machine: StateMachine<S>,
  a: SnapshotKey<S>,
  b: SnapshotKey<S>,
): number {
  checkKey(machine, a);
  checkKey(machine, b);
  return (
    Number(machine.isTerminal(a.status)) - Number(machine.isTerminal(b.status)) ||
    a.eventCreated - b.eventCreated ||
    machine.rank[a.status] - machine.rank[b.status] ||
    // code-unit order, not localeCompare: the result must not depend on the host's locale
    (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0)
  );
}

/** True when `incoming` must overwrite `current` (absent: always): it is strictly greater. */
export function shouldReplace<S extends string>(
  machine: StateMachine<S>,
  current: SnapshotKey<S> | undefined,
  incoming: SnapshotKey<S>,
): boolean {
  if (current === undefined) {
    checkKey(machine, incoming);
    return true;
  }
  return compareSnapshots(machine, incoming, current) > 0;
}

// A key outside the machine would compare as NaN and silently break the order.
function checkKey<S extends string>(machine: StateMachine<S>, key: SnapshotKey<S>): void {
  if (!machine.isStatus(key.status)) {
    throw new RangeError(`${machine.name} snapshot: unknown status ${JSON.stringify(key.status)}`);
  }
  if (!Number.isSafeInteger(key.eventCreated) || key.eventCreated < 0) {
    throw new RangeError(`${machine.name} snapshot: eventCreated ${key.eventCreated} is not unix seconds`);
  }
  if (typeof key.eventId !== "string" || key.eventId.length === 0) {
    throw new RangeError(`${machine.name} snapshot: eventId is empty`);
  }
}
