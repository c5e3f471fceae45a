import type { FieldError } from "../domain/commands.ts";

/**
 * Thrown (as a rejection) by `send` when the command breaks the Contract's rules; nothing was
 * published. Fix the command: sending it again as it is can never succeed.
 */
export class InvalidCommandError extends Error {
  /** Every problem found, each naming its field (e.g. `items[0].currency`). */
  readonly errors: readonly FieldError[];

  constructor(errors: readonly FieldError[]) {
    super(`invalid billing command: ${errors.map((e) => `${e.field}: ${e.message}`).join("; ")}`);
    this.name = "InvalidCommandError";
    this.errors = errors;
  }
}
