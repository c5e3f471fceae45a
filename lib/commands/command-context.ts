import type { Transaction } from "kysely";
import type { Database } from "../db/schema/database.ts";
import type { CommandType } from "../domain/command-types.ts";
import type { CommandOf } from "../domain/commands.ts";
import type { ErrorCode } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import type { StripeApi } from "../stripe/client.ts";

/** What one command handler gets: the consumer's transaction, the Stripe client and the valid command. */
export interface CommandContext<T extends CommandType = CommandType> {
  readonly trx: Transaction<Database>;
  readonly log: Logger;
  readonly stripe: StripeApi;
  readonly command: CommandOf<T>;
}

/** Why a command failed, as billing.commands.error and the command.failed event carry it. */
export interface CommandError {
  code: ErrorCode;
  message: string;
  /** Stripe's own details when Stripe refused a request (HTTP status, error type and code). */
  stripe?: { status?: number; type?: string; code?: string; declineCode?: string };
}

/** How a command ended; a handler returns it, or throws (transient: retried; permanent: DLQ). */
export type CommandOutcome =
  | { status: "succeeded"; result: Record<string, unknown> }
  | { status: "failed"; error: CommandError };

/** Applies one command of type T in `context.trx`. */
export type CommandHandler<T extends CommandType> = (context: CommandContext<T>) => Promise<CommandOutcome>;

/** A succeeded outcome with the result the caller gets back. */
export function succeeded(result: Record<string, unknown>): CommandOutcome {
  return { status: "succeeded", result };
}

/** A failed outcome: the command ran and was refused. */
export function failed(code: ErrorCode, message: string): CommandOutcome {
  return { status: "failed", error: { code, message } };
}
