import type { Transaction } from "kysely";
import type { Database } from "../db/schema/database.ts";
import type { Command } from "../domain/commands.ts";
import { domainEvent } from "../domain/domain-events.ts";
import { commands } from "../metrics/registry.ts";
import { emit } from "../tables/outbox.ts";
import type { CommandOutcome } from "./command-context.ts";

// The command's row is its idempotency record (same id: the row answers) and its event is how the
// sender learns the outcome; both commit with the command's effect, in the consumer's transaction.

/** Inserts the billing.commands row and emits command.succeeded / command.failed (correlationId = command id). */
export async function recordOutcome(
  trx: Transaction<Database>,
  input: { command: Command; requestHash: string; source: string | undefined; outcome: CommandOutcome },
): Promise<void> {
  const { command, requestHash, source, outcome } = input;
  await trx
    .insertInto("commands")
    .values({
      command_id: command.id,
      type: command.type,
      status: outcome.status,
      request_hash: requestHash,
      source: source ?? null,
      result: outcome.status === "succeeded" ? JSON.stringify(outcome.result) : null,
      error: outcome.status === "failed" ? JSON.stringify(outcome.error) : null,
    })
    .execute();
  const data =
    outcome.status === "succeeded"
      ? { commandId: command.id, commandType: command.type, status: outcome.status, result: outcome.result }
      : { commandId: command.id, commandType: command.type, status: outcome.status, error: outcome.error };
  await emit(
    trx,
    domainEvent({
      type: outcome.status === "succeeded" ? "command.succeeded" : "command.failed",
      sourceId: command.id,
      correlationId: command.id,
      occurredAt: new Date(),
      data,
    }),
  );
  commands.inc({ type: command.type, status: outcome.status });
}

/**
 * The same id arrived with other fields: the original row stays as it is, and the sender gets a
 * command.failed (idempotency_conflict) whose id is stable per (command id, new request hash).
 */
export async function recordConflict(
  trx: Transaction<Database>,
  input: { command: Command; requestHash: string; original: { type: string; status: string } },
): Promise<void> {
  const { command, requestHash, original } = input;
  const error = {
    code: "idempotency_conflict",
    message:
      `command id ${JSON.stringify(command.id)} was already used for a ${original.type} with other ` +
      `fields (it ${original.status}); this one was not applied`,
  };
  await emit(
    trx,
    domainEvent({
      type: "command.failed",
      // NUL cannot occur in a command id, so no command's own event can share this id
      sourceId: `${command.id}\u0000conflict\u0000${requestHash}`,
      correlationId: command.id,
      occurredAt: new Date(),
      data: { commandId: command.id, commandType: command.type, status: "failed", error },
    }),
  );
  commands.inc({ type: command.type, status: "failed" });
}
