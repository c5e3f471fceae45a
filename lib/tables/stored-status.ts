import type { StateMachine } from "../domain/state-machine.ts";

/** A status read from a row; one outside its machine is corruption and must stop the line. */
export function checkedStatus<S extends string>(machine: StateMachine<S>, status: unknown): S {
  // only the apply path writes these rows, always with a machine status
  if (!machine.isStatus(status)) {
    throw new Error(`${machine.name} row holds unknown status ${JSON.stringify(status)}`);
  }
  return status;
}
