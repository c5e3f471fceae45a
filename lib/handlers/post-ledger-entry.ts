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
  | { outcome: "insufficient_funds"; balance: number };

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
  // the entry's foreign key needs the account row first; a debit never creates one
  if (signed > 0) {
    await trx
      .insertInto("accounts")
      .values({ account_id: accountId, currency })
      .onConflict((oc) => oc.columns(["account_id", "currency"]).doNothing())
      .execute();
  }
  const account = await trx
    .selectFrom("accounts")
    .select("balance")
    .where("account_id", "=", accountId)
    .where("currency", "=", currency)
    .forUpdate()
    .executeTakeFirst();
  const balance = account?.balance ?? 0;

  // under the account lock nobody else can post this entry, so the check is exact
  const existing = await trx
    .selectFrom("ledger_entries")
    .select("id")
    .where("kind", "=", kind)
    .where("source_id", "=", sourceId)
    .executeTakeFirst();
  if (existing !== undefined) return { outcome: "duplicate" };

  const plan = signed > 0 ? planCredit(balance, amount) : planDebit(balance, amount);
  if (!plan.ok || account === undefined) return { outcome: "insufficient_funds", balance };

  const inserted = await trx
    .insertInto("ledger_entries")
    .values({ account_id: accountId, currency, amount: signed, kind, source_id: sourceId })
    .onConflict((oc) => oc.columns(["kind", "source_id"]).doNothing())
    .returning("id")
    .executeTakeFirst();
  if (inserted === undefined) return { outcome: "duplicate" };
  const updated = await trx
    .updateTable("accounts")
    .set({ balance: sql<number>`balance + ${signed}`, updated_at: sql<Date>`now()` })
    .where("account_id", "=", accountId)
    .where("currency", "=", currency)
    .returning("balance")
    .executeTakeFirstOrThrow();
  balanceUpdates.inc({ direction: signed > 0 ? "credit" : "debit", kind });
  return { outcome: "posted", entryId: inserted.id, balance: updated.balance };
}
