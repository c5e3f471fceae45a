import { createHash } from "node:crypto";
import pRetry from "p-retry";
import { classifyDbError } from "../db/classify-error.ts";
import type { Db } from "../db/database.ts";
import { errorCode, errorMessage, PermanentError, TransientError } from "../domain/errors.ts";
import { quickRetryOptions } from "../domain/retry-policy.ts";
import type { DeferredRows, Handler, InboundMessage } from "../handlers/context.ts";
import { emitAll } from "../handlers/emit.ts";
import { writeStripeEvents } from "../handlers/stripe-event.ts";
import type { Logger } from "../log.ts";
import type { StripeApi } from "../stripe/client.ts";

export type ApplyOutcome = "applied" | "duplicate";

export interface ApplyDeps {
  readonly db: Db;
  readonly log: Logger;
  readonly stripe: StripeApi;
  /** Routes the message to its handler, which writes the effect and outbox rows in the same trx. */
  readonly dispatch: Handler;
}

// Only a lost race in Postgres or a lost connection is worth a second transaction right away; a
// slow Stripe has its own quick retries, and an event that is early needs the delayed ladder.
const quickRetryCodes: ReadonlySet<string> = new Set([
  "serialization_failure",
  "deadlock",
  "database_unavailable",
]);

/**
 * Applies one message exactly once: the inbox row and the handler's writes commit in ONE
 * transaction; a message whose inbox row is already there is a duplicate and runs no handler.
 * The caller acks only after this resolves. Throws a Transient/PermanentError (or whatever the
 * handler threw) with nothing committed.
 */
export async function applyMessage(deps: ApplyDeps, message: InboundMessage): Promise<ApplyOutcome> {
  const key = inboxKey(message);
  const log = deps.log.child({ messageId: message.id, type: message.type, attempt: message.attempt });
  return pRetry(
    async () => {
      try {
        return await applyOnce(deps, log, message, key);
      } catch (error) {
        throw classifyDbError(error);
      }
    },
    {
      ...quickRetryOptions,
      shouldRetry: ({ error }) => error instanceof TransientError && quickRetryCodes.has(error.code),
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        log.debug(
          { code: errorCode(error), reason: errorMessage(error), try: attemptNumber, retriesLeft },
          "transaction failed",
        );
      },
    },
  );
}

async function applyOnce(
  deps: ApplyDeps,
  log: Logger,
  message: InboundMessage,
  key: string,
): Promise<ApplyOutcome> {
  const [outcome] = await applyInOneTransaction(deps, [{ message, key, log }]);
  return outcome ?? "duplicate";
}

/**
 * Applies several messages in ONE transaction, each exactly once as applyMessage does, and resolves
 * with their outcomes in order once it commits. Any failure rolls the whole batch back and throws
 * (classified); the caller then applies the messages one by one, so one bad message costs its
 * neighbours a second transaction, never their effect. No quick retries here for that reason.
 */
export async function applyBatch(
  deps: ApplyDeps,
  messages: readonly InboundMessage[],
): Promise<ApplyOutcome[]> {
  const entries = messages.map((message) => ({
    message,
    key: inboxKey(message),
    log: deps.log.child({ messageId: message.id, type: message.type, attempt: message.attempt }),
  }));
  try {
    return await applyInOneTransaction(deps, entries);
  } catch (error) {
    throw classifyDbError(error);
  }
}

async function applyInOneTransaction(
  deps: ApplyDeps,
  entries: ReadonlyArray<{ message: InboundMessage; key: string; log: Logger }>,
): Promise<ApplyOutcome[]> {
  return deps.db.transaction().execute(async (trx) => {
    // One statement claims every inbox key. A concurrent worker holding one of them makes this wait
    // for its commit (then: duplicate) or its rollback (then: ours to apply). A key twice in the
    // batch is inserted once, so its second message is a duplicate.
    const inserted = await trx
      .insertInto("processed_messages")
      .values(entries.map(({ key }) => ({ message_id: key })))
      .onConflict((oc) => oc.column("message_id").doNothing())
      .returning("message_id")
      .execute();
    const fresh = new Set(inserted.map((row) => row.message_id));
    const outcomes: ApplyOutcome[] = [];
    const deferred: DeferredRows = { stripeEvents: [], outbox: [] };
    for (const { message, key, log } of entries) {
      if (!fresh.delete(key)) {
        outcomes.push("duplicate");
        continue;
      }
      await deps.dispatch({ trx, message, log, stripe: deps.stripe, deferred });
      outcomes.push("applied");
    }
    await writeStripeEvents(trx, deferred.stripeEvents);
    await emitAll(trx, deferred.outbox);
    return outcomes;
  });
}

/**
 * The inbox key of a message. A Stripe event is keyed by its event id. A command is keyed by its id
 * AND its body, so that a re-sent command with other fields reaches the commands table, which
 * reports it as an idempotency_conflict; an identical re-send is a plain duplicate.
 */
export function inboxKey(message: InboundMessage): string {
  if (message.id === "") throw new PermanentError("invalid_message", "message has no id");
  if (message.routingKey.startsWith("stripe.")) return `stripe:${message.id}`;
  if (message.routingKey.startsWith("command.")) {
    return `command:${message.id}:${createHash("sha256").update(message.body).digest("hex")}`;
  }
  throw new PermanentError(
    "invalid_message",
    `routing key "${message.routingKey}" is neither stripe.* nor command.*`,
  );
}
