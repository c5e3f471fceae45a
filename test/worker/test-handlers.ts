import { sql } from "kysely";
import type { Db } from "../../lib/db/database.ts";
import type { Handler, InboundMessage } from "../../lib/handlers/context.ts";
import type { Logger } from "../../lib/log.ts";
import { createStripeApi, type StripeApi } from "../../lib/stripe/client.ts";
import { testLogger, testSecrets } from "../helpers/config.ts";

// Small handlers for the worker's tests: they write one row per applied message in the
// consumer's transaction, or throw what the test asks for. They stand in for lib/handlers, whose
// own tests cover the real effects.

export const log: Logger = testLogger("worker");
// The real client, never called by the test handlers; it points nowhere so a call fails loudly.
export const stripe: StripeApi = createStripeApi({
  secretKey: testSecrets.stripeKey,
  apiUrl: "http://127.0.0.1:9",
  log,
  retries: 0,
});

/** The table the test handlers write their effect to (one row per applied message). */
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

/** A handler that records its effect: one row in billing.test_effects. */
export const recordEffect: Handler = async ({ trx, message }) => {
  await sql`INSERT INTO billing.test_effects (message_id, attempt) VALUES (${message.id}, ${message.attempt})`.execute(
    trx,
  );
};

/** A handler that throws `error(message, call)` for the first `times` calls per message id, then records. */
export function failing(
  times: number,
  error: (message: InboundMessage, call: number) => unknown,
): Handler & {
  calls(id: string): number;
} {
  const calls = new Map<string, number>();
  const handler: Handler = async (context) => {
    const call = (calls.get(context.message.id) ?? 0) + 1;
    calls.set(context.message.id, call);
    if (call <= times) throw error(context.message, call);
    await recordEffect(context);
  };
  return Object.assign(handler, { calls: (id: string) => calls.get(id) ?? 0 });
}

/** A Stripe-shaped message for the worker (the test handlers do not read the body). */
export function stripeMessage(id: string, overrides: Partial<InboundMessage> = {}): InboundMessage {
  return {
    id,
    type: "invoice.paid",
    routingKey: "stripe.invoice.paid",
    body: Buffer.from(JSON.stringify({ id, type: "invoice.paid" })),
    headers: { "x-source": "stripe" },
    source: "stripe",
    attempt: 0,
    ...overrides,
  };
}
