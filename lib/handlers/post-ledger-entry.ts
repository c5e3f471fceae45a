import { sql, type Transaction } from "kysely";
import type { Database } from "../db/schema/database.ts";
import { type LedgerKind, ledgerEntryAmount, planCredit, planDebit } from "../domain/ledger.ts";
import { balanceUpdates } from "../metrics/registry.ts";

// The one writer of ledger_entries and accounts.balance: an entry and its balance change commit
// together, so balance = sum(entries) always, and the entry's (kind, source_id) makes it happen once.

export interface LedgerEntryInput {
  accountId: string;
  currency: string;
  kind: LedgerKind;
  /** From ledgerSourceId: the same cause always gives the same id. */
  sourceId: string;
  /** Positive minor units; the kind gives the sign. */
  amount: number;
}

export type LedgerPosting =
  | { outcome: "posted"; entryId: number; balance: number }
  | { outcome: "duplicate" }
  | { outcome: "insufficient_funds"; balance: number; accountExists: boolean };

/**
 * Posts one entry and moves the balance, once per (kind, sourceId). Locks the account row: callers
 * that also lock an entity (a payment) must lock it first. A debit below zero writes nothing.
 */
export async function postLedgerEntry(
  trx: Transaction<Database>,
  entry: LedgerEntryInput,
): Promise<LedgerPosting> {
  const { accountId, currency, kind, sourceId, amount } = entry;
  const signed = ledgerEntryAmount(kind, amount);
  // Round trips are what a posting costs here, so: one statement locks (and for a credit creates)
  // the account, one more writes the entry and moves the balance together.
  const balance =
    signed > 0 ? await lockOrCreate(trx, accountId, currency) : await lock(trx, accountId, currency);
  const plan = signed > 0 ? planCredit(balance ?? 0, amount) : planDebit(balance ?? 0, amount);
  if (!plan.ok || balance === undefined) {
    // under the account lock nobody else can post this entry, so the check is exact
    const existing = await trx
      .selectFrom("ledger_entries")
      .select("id")
      .where("kind", "=", kind)
      .where("source_id", "=", sourceId)
      .executeTakeFirst();
    if (existing !== undefined) return { outcome: "duplicate" };
    return { outcome: "insufficient_funds", balance: balance ?? 0, accountExists: balance !== undefined };
  }
  const posted = await trx
    .with("entry", (db) =>
      db
        .insertInto("ledger_entries")
        .values({ account_id: accountId, currency, amount: signed, kind, source_id: sourceId })
        .onConflict((oc) => oc.columns(["kind", "source_id"]).doNothing())
        .returning(["id", "amount"]),
    )
    .updateTable("accounts")
    .from("entry")
    .set({ balance: sql<number>`accounts.balance + entry.amount`, updated_at: sql<Date>`now()` })
    .where("accounts.account_id", "=", accountId)
    .where("accounts.currency", "=", currency)
    .returning(["entry.id as entryId", "accounts.balance as balance"])
    .executeTakeFirst();
  // the entry exists already: a redelivery of what was posted before
  if (posted === undefined) return { outcome: "duplicate" };
  balanceUpdates.inc({ direction: signed > 0 ? "credit" : "debit", kind });
  return { outcome: "posted", entryId: posted.entryId, balance: posted.balance };
}

/** Locks the account row and reads its balance; undefined when there is none. */
async function lock(
  trx: Transaction<Database>,
  accountId: string,
  currency: string,
): Promise<number | undefined> {
  const account = await trx
    .selectFrom("accounts")
    .select("balance")
    .where("account_id", "=", accountId)
    .where("currency", "=", currency)
    .forUpdate()
    .executeTakeFirst();
  return account?.balance;
}

// The no-op update makes ON CONFLICT lock the existing row and return it, in the same statement
// that creates a missing one (the entry's foreign key needs it).
async function lockOrCreate(
  trx: Transaction<Database>,
  accountId: string,
  currency: string,
): Promise<number> {
  const account = await trx
    .insertInto("accounts")
    .values({ account_id: accountId, currency })
    .onConflict((oc) =>
      oc
        .columns(["account_id", "currency"])
        .doUpdateSet({ account_id: (eb) => eb.ref("excluded.account_id") }),
    )
    .returning("balance")
    .executeTakeFirstOrThrow();
  return account.balance;
}
