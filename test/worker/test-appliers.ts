import { sql, type Transaction } from "kysely";
import {
  type CommandMessage,
  type InboundMessage,
  inboxKey,
  type StripeEventMessage,
} from "../../lib/amqp/inbound-message.ts";
import type { Db } from "../../lib/db/database.ts";
import type { Database } from "../../lib/db/schema/database.ts";
import type { Logger } from "../../lib/log.ts";
import { createStripeApi, type StripeApi } from "../../lib/stripe/client.ts";
import { claimInbox } from "../../lib/tables/inbox.ts";
import type { Appliers } from "../../lib/worker/applied-settlement.ts";
import { testLogger, testSecrets } from "../helpers/config.ts";

// Appliers for the consumer's own tests: the real inbox claim in a real transaction, and in place
// of billing's effects one row per applied message in billing.test_effects, or whatever failure a
// test asks for. They exercise the consumer's contract (batches, retries, dead letters, acks);
// the real appliers (lib/worker/apply-batch.ts, apply-command.ts) have tests of their own.

export const log: Logger = testLogger("worker");
// The real client, never called by the test appliers; it points nowhere so a call fails loudly.
export const stripe: StripeApi = createStripeApi({
  secretKey: testSecrets.stripeKey,
  apiUrl: "http://127.0.0.1:9",
  log,
  retries: 0,
});

/** What a test applier does with one fresh message in its transaction: return, or throw. */
export type TestHandler = (message: InboundMessage, trx: Transaction<Database>) => Promise<void>;

/** The table the test appliers write their effect to (one row per applied message). */
export async function createEffectsTable(db: Db): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS billing.test_effects (
    seq bigserial PRIMARY KEY,
    message_id text NOT NULL,
    attempt integer NOT NULL
  )`.execute(db);
}

/** How many effects each message id has. */
export async function effectCounts(db: Db): Promise<Map<string, number>> {
  const { rows } = await sql<{ message_id: string; n: number }>`
    SELECT message_id, count(*)::int AS n FROM billing.test_effects GROUP BY message_id`.execute(db);
  return new Map(rows.map((r) => [r.message_id, r.n]));
}

/** The attempt number the message had when its effect was written. */
export async function effectAttempt(db: Db, messageId: string): Promise<number | undefined> {
  const { rows } = await sql<{ attempt: number }>`
    SELECT attempt FROM billing.test_effects WHERE message_id = ${messageId}`.execute(db);
  return rows[0]?.attempt;
}

/** Records the message's effect: one row in billing.test_effects. */
export const recordEffect: TestHandler = async (message, trx) => {
  await sql`INSERT INTO billing.test_effects (message_id, attempt) VALUES (${message.messageId}, ${message.attempt})`.execute(
    trx,
  );
};

/** A handler that throws `error(message, call)` for the first `times` calls per message id, then records. */
export function failing(
  times: number,
  error: (message: InboundMessage, call: number) => unknown,
): TestHandler & { calls(id: string): number } {
  const calls = new Map<string, number>();
  const handler: TestHandler = async (message, trx) => {
    const call = (calls.get(message.messageId) ?? 0) + 1;
    calls.set(message.messageId, call);
    if (call <= times) throw error(message, call);
    await recordEffect(message, trx);
  };
  return Object.assign(handler, { calls: (id: string) => calls.get(id) ?? 0 });
}

/**
 * Appliers on `db` that run `handler(message)` for each fresh message: a batch of events in one
 * transaction (a handler that throws fails the whole batch, as a real one does), a command in one.
 */
export function testAppliers(db: Db, handler: TestHandler): Appliers {
  const applyAll = async (messages: readonly InboundMessage[]) =>
    db.transaction().execute(async (trx) => {
      const keys = messages.map((message) => inboxKey(message));
      const claimed = await claimInbox(trx, keys);
      const outcomes: Array<{ status: "applied" | "duplicate" }> = [];
      for (const [i, message] of messages.entries()) {
        if (!claimed.delete(keys[i] as string)) {
          outcomes.push({ status: "duplicate" });
          continue;
        }
        await handler(message, trx);
        outcomes.push({ status: "applied" });
      }
      return outcomes;
    });
  return {
    events: (messages: readonly StripeEventMessage[]) => applyAll(messages),
    command: async (message: CommandMessage) => {
      const [outcome] = await applyAll([message]);
      return outcome?.status ?? "duplicate";
    },
  };
}
