import type { SnapshotKey } from "../domain/snapshot-order.ts";
import type { StateMachine } from "../domain/state-machine.ts";

/** The snapshot key of a locked row, for `shouldReplace`; a status outside the machine is corruption. */
export function storedSnapshot<S extends string>(
  machine: StateMachine<S>,
  row: { status: string; event_created: number; event_id: string },
): SnapshotKey<S> {
  // only handlers write these rows, always with a machine status: anything else must stop the line
  if (!machine.isStatus(row.status)) {
    throw new Error(`${machine.name} row holds unknown status ${JSON.stringify(row.status)}`);
  }
  return { status: row.status, eventCreated: row.event_created, eventId: row.event_id };
}
