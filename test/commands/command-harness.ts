import { sql } from "kysely";
import { type RawMessage, readMessage } from "../../lib/amqp/inbound-message.ts";
import { commandMessage } from "../../lib/client/command-message.ts";
import type { Db } from "../../lib/db/database.ts";
import type { JsonObject } from "../../lib/db/schema/columns.ts";
import type { Command } from "../../lib/domain/commands.ts";
import type { DomainEvent } from "../../lib/domain/domain-events.ts";
import { createStripeApi, type StripeApi, type StripeApiOptions } from "../../lib/stripe/client.ts";
import { loadLedgerBook, writePostings } from "../../lib/tables/ledger.ts";
import { applyBatch } from "../../lib/worker/apply-batch.ts";
import { applyCommand } from "../../lib/worker/apply-command.ts";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";
import { testLogger, testSecrets } from "../helpers/config.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

// Applies messages the way one worker does, minus the broker: read once as the consumer reads a
// delivery, then the worker's own appliers (a command in its transaction, a Stripe event through
// applyBatch) against a real database and the Stripe emulator.

export interface CommandHarness {
  readonly database: TestDatabase;
  readonly db: Db;
  readonly emulator: StripeEmulator;
  readonly stripe: StripeApi;
  /** Applies one message as a worker would (optionally with another pool or Stripe client); resolves once committed. */
  apply(message: RawMessage, overrides?: { db?: Db; stripe?: StripeApi }): Promise<"applied" | "duplicate">;
  /** A Stripe client on the emulator with other options (e.g. no quick retries). */
  stripeWith(options: Partial<StripeApiOptions>): StripeApi;
  close(): Promise<void>;
}

const log = testLogger("commands");

/** A fresh database and emulator (events recorded, no webhook delivery). */
export async function startCommandHarness(): Promise<CommandHarness> {
  const database = await createTestDatabase();
  const emulator = await startStripeEmulator();
  const stripeWith = (options: Partial<StripeApiOptions>) =>
    createStripeApi({ secretKey: testSecrets.stripeKey, apiUrl: emulator.url, log, ...options });
  const stripe = stripeWith({});
  return {
    database,
    db: database.db,
    emulator,
    stripe,
    stripeWith,
    async apply(raw, overrides = {}) {
      const db = overrides.db ?? database.db;
      const read = readMessage(raw, "any");
      // what can never apply is refused before any transaction (the consumer dead-letters it)
      if (read.message === undefined) throw read.refusal;
      if (read.message.kind === "command") {
        return applyCommand({ db, log, stripe: overrides.stripe ?? stripe }, read.message);
      }
      const [outcome] = await applyBatch({ db, log }, [read.message]);
      if (outcome === undefined) throw new Error("no outcome");
      if (outcome.status === "refused") throw outcome.error;
      return outcome.status;
    },
    async close() {
      await emulator.close();
      await database.drop();
    },
  };
}

/** The billing_queue message of a command exactly as lib/client publishes it. */
export function commandInbound(command: Command, source = "test-service"): RawMessage {
  const message = commandMessage(command, source);
  return {
    messageId: message.options.messageId,
    type: command.type,
    routingKey: message.routingKey,
    body: message.content,
    headers: message.options.headers ?? {},
  };
}

/** A command message with any body (for messages that are not valid commands). */
export function rawCommandInbound(id: string, routingKey: string, body: string | JsonObject): RawMessage {
  return {
    messageId: id,
    type: routingKey.replace(/^command\./, ""),
    routingKey,
    body: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)),
    headers: { "x-source": "test-service" },
  };
}

/** The message of a Stripe event as the ingester publishes a webhook. */
export function stripeInbound(event: { id: string; type: string }): RawMessage {
  return {
    messageId: event.id,
    type: event.type,
    routingKey: `stripe.${event.type}`,
    body: Buffer.from(JSON.stringify(event)),
    headers: { "x-source": "stripe" },
  };
}

/** The billing.commands row of a command. */
export function commandRow(db: Db, id: string) {
  return db.selectFrom("commands").selectAll().where("command_id", "=", id).executeTakeFirst();
}

/** One field of a command's recorded result (a string id, e.g. paymentIntentId); throws when absent. */
export function resultField(row: { result: unknown } | undefined, field: string): string {
  const value = (row?.result as Record<string, unknown> | null | undefined)?.[field];
  if (typeof value !== "string") throw new Error(`no ${field} in the command's result`);
  return value;
}

/** Outbox events correlated with a command id, oldest first. */
export async function commandEvents(db: Db, id: string) {
  const rows = await db
    .selectFrom("outbox")
    .select(["event_id", "type", "payload"])
    .where("correlation_id", "=", id)
    .orderBy("id")
    .execute();
  return rows.map((row) => ({
    eventId: row.event_id,
    type: row.type,
    body: row.payload as unknown as DomainEvent,
  }));
}

/** Credits `amount` to an account through the real ledger writer (balance = sum of entries). */
export async function fundAccount(
  db: Db,
  accountId: string,
  currency: string,
  amount: number,
  source: string,
) {
  await db.transaction().execute(async (trx) => {
    const book = await loadLedgerBook(trx, {
      accounts: [{ accountId, currency }],
      keys: [{ kind: "deposit_credit", sourceId: source }],
      create: true,
    });
    book.post({ accountId, currency, kind: "deposit_credit", sourceId: source, amount });
    await writePostings(trx, book.postings(), book.movedBalances());
  });
}

/** The balance of one account, or undefined when it has no row. */
export async function balanceOf(db: Db, accountId: string, currency: string): Promise<number | undefined> {
  const row = await db
    .selectFrom("accounts")
    .select("balance")
    .where("account_id", "=", accountId)
    .where("currency", "=", currency)
    .executeTakeFirst();
  return row?.balance;
}

/** Accounts whose balance is not the sum of their ledger entries (must always be empty). */
export async function balanceDrift(db: Db): Promise<unknown[]> {
  const { rows } = await sql<{ account_id: string; balance: number; total: number }>`
    SELECT a.account_id, a.currency, a.balance, COALESCE(SUM(l.amount), 0)::bigint AS total
    FROM billing.accounts a LEFT JOIN billing.ledger_entries l USING (account_id, currency)
    GROUP BY a.account_id, a.currency, a.balance
    HAVING a.balance <> COALESCE(SUM(l.amount), 0)
  `.execute(db);
  return rows;
}

/** The emulator's requests whose path starts with `prefix` (and, when given, of this method). */
export function stripeCalls(emulator: StripeEmulator, prefix: string, method?: string) {
  return emulator
    .requests()
    .filter((r) => r.path.startsWith(prefix) && (method === undefined || r.method === method));
}
