import { sql } from "kysely";
import type { CommandType } from "../domain/command-types.ts";
import { commandRequestHash } from "../domain/commands.ts";
import type { CommandContext, CommandOutcome } from "./command-context.ts";
import { commandHandler } from "./command-table.ts";
import type { CommandMessageContext } from "./message-context.ts";
import { recordConflict, recordOutcome } from "./record-outcome.ts";
import { stripeRefusal } from "./stripe-refusal.ts";

/**
 * Applies a command message in the transaction that holds its inbox row: a command id runs once;
 * the same id with the same fields again has no second effect, with other fields it is an
 * idempotency_conflict. Stripe refusing a request (4xx) fails the command; a transient error is
 * thrown for the consumer to retry.
 */
export async function handleCommand(context: CommandMessageContext): Promise<void> {
  const { trx, message } = context;
  const { command } = message;
  const log = context.log.child({ commandId: command.id, commandType: command.type });
  const requestHash = commandRequestHash(command);

  // The inbox key holds the body's hash, so the same id with other bytes can run concurrently on
  // two workers: this lock makes the second wait for the first's commit, then find its row.
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${command.id}, 0))`.execute(trx);
  const original = await trx
    .selectFrom("commands")
    .select(["type", "status", "request_hash"])
    .where("command_id", "=", command.id)
    .executeTakeFirst();
  if (original !== undefined) {
    if (original.request_hash === requestHash) {
      log.debug({ status: original.status }, "command already done: no second effect");
      return;
    }
    log.info({ original: original.type }, "command id reused with other fields: idempotency_conflict");
    await recordConflict(trx, { command, requestHash, original });
    return;
  }

  const outcome = await runCommand({ trx, log, stripe: context.stripe, command });
  if (outcome.status === "failed") log.info({ code: outcome.error.code }, "command failed");
  await recordOutcome(trx, { command, requestHash, source: message.source, outcome });
}

async function runCommand<T extends CommandType>(context: CommandContext<T>): Promise<CommandOutcome> {
  try {
    return await commandHandler(context.command.type as T)(context);
  } catch (error) {
    // Stripe said no (4xx): the command ran and was refused. Only Stripe calls throw this code,
    // and they run no SQL, so the transaction is still good for the failed row.
    const refusal = stripeRefusal(error);
    if (refusal !== undefined) return { status: "failed", error: refusal };
    throw error;
  }
}
