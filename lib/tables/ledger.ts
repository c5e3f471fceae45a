import { sql, type Transaction } from "kysely";
import { columnList, recordset } from "../db/recordset.ts";
import { accountsColumns } from "../db/schema/accounts.ts";
import type { Database } from "../db/schema/database.ts";
import { ledgerEntriesColumns } from "../db/schema/ledger-entries.ts";
import { type WritePart, writeParts } from "../db/write-parts.ts";
import { TransientError } from "../domain/errors.ts";
import { type LedgerKind, ledgerKinds } from "../domain/ledger.ts";
import {
  accountKey,
  createLedgerBook,
  entryKey,
  type LedgerBook,
  type LedgerEntryState,
  type Posting,
} from "../domain/ledger-book.ts";
import { balanceUpdates } from "../metrics/registry.ts";

// The one reader and writer of ledger_entries and accounts.balance, for Stripe event batches and
// commands alike. Accounts are locked in key order; the postings planned against them are written
// with their balance moves in ONE statement, so balance = sum(entries) always, and each entry's
// (kind, source_id) makes it happen once.

export interface AccountRef {
  readonly accountId: string;
  readonly currency: string;
}

/** The entries among `keys` that exist (no lock: every key is serialized by an entity lock the caller holds). */
export async function readLedgerEntries(
  trx: Transaction<Database>,
  keys: ReadonlyArray<{ readonly kind: LedgerKind; readonly sourceId: string }>,
): Promise<LedgerEntryState[]> {
  if (keys.length === 0) return [];
  const wanted = new Set(keys.map((k) => entryKey(k.kind, k.sourceId)));
  // Two arrays against the (kind, source_id) index: an index scan whatever the ledger's size (a
  // join with the batch's rows was hashed against a scan of the whole table). A row of a kind
  // asked for another source is dropped below.
  const { rows } = await sql<{
    account_id: string;
    currency: string;
    amount: number;
    kind: string;
    source_id: string;
  }>`
    SELECT account_id, currency, amount, kind, source_id FROM billing.ledger_entries
    WHERE kind = ANY(${[...new Set(keys.map((k) => k.kind))]}::text[])
      AND source_id = ANY(${[...new Set(keys.map((k) => k.sourceId))]}::text[])`.execute(trx);
  return rows
    .map((row) => ({
      accountId: row.account_id,
      currency: row.currency,
      amount: row.amount,
      kind: ledgerKind(row.kind),
      sourceId: row.source_id,
    }))
    .filter((entry) => wanted.has(entryKey(entry.kind, entry.sourceId)));
}

/**
 * Locks the accounts in key order and reads their balances, by accountKey. With `create`, a
 * missing account is created (a credit needs the row: the entries' foreign key) in the same
 * statement; without it, a missing account is simply absent.
 */
export async function lockAccounts(
  trx: Transaction<Database>,
  accounts: readonly AccountRef[],
  options: { create: boolean },
): Promise<Map<string, number>> {
  const balances = new Map<string, number>();
  if (accounts.length === 0) return balances;
  const refs = recordset(
    accountsColumns,
    ["account_id", "currency"],
    accounts.map((a) => ({ account_id: a.accountId, currency: a.currency })),
  );
  // The no-op update makes ON CONFLICT lock the existing row and return it.
  const { rows } = options.create
    ? await sql<{ account_id: string; currency: string; balance: number }>`
        INSERT INTO billing.accounts (account_id, currency)
        SELECT account_id, currency FROM ${refs} ORDER BY account_id, currency
        ON CONFLICT (account_id, currency) DO UPDATE SET account_id = excluded.account_id
        RETURNING account_id, currency, balance`.execute(trx)
    : await sql<{ account_id: string; currency: string; balance: number }>`
        SELECT a.account_id, a.currency, a.balance FROM billing.accounts a
        JOIN ${refs} ON a.account_id = v.account_id AND a.currency = v.currency
        ORDER BY a.account_id, a.currency FOR UPDATE OF a`.execute(trx);
  for (const row of rows) balances.set(accountKey(row.account_id, row.currency), row.balance);
  return balances;
}

/** A ledger book over the locked `accounts` and the existing entries among `keys` (for a command). */
export async function loadLedgerBook(
  trx: Transaction<Database>,
  input: {
    accounts: readonly AccountRef[];
    keys: ReadonlyArray<{ readonly kind: LedgerKind; readonly sourceId: string }>;
    create: boolean;
  },
): Promise<LedgerBook> {
  const balances = await lockAccounts(trx, input.accounts, { create: input.create });
  const entries = await readLedgerEntries(trx, input.keys);
  return createLedgerBook({ balances, entries });
}

/**
 * Writes planned postings and moves their balances (one part of a write: the entries, their sums,
 * the balance moves), then checks that every moved balance is what the plan expected: anything
 * else means another writer slipped past the locks, and the transaction must not commit.
 */
export function postingsPart(
  postings: readonly Posting[],
  expected: ReadonlyMap<string, number>,
): WritePart | undefined {
  if (postings.length === 0) return undefined;
  const names = ["account_id", "currency", "amount", "kind", "source_id"] as const;
  const rows = postings.map((p) => ({
    account_id: p.accountId,
    currency: p.currency,
    amount: p.amount,
    kind: p.kind,
    source_id: p.sourceId,
  }));
  const entries = sql`
    INSERT INTO billing.ledger_entries (${columnList(names)})
    SELECT ${columnList(names)} FROM ${recordset(ledgerEntriesColumns, names, rows)}
    ON CONFLICT (kind, source_id) DO NOTHING
    RETURNING account_id, currency, amount`;
  const totals = sql`
    SELECT account_id, currency, sum(amount)::bigint AS amount, count(*)::int AS entries
    FROM ledger_entries_written GROUP BY account_id, currency`;
  const moved = sql`
    UPDATE billing.accounts a SET balance = a.balance + t.amount, updated_at = now()
    FROM ledger_totals t WHERE a.account_id = t.account_id AND a.currency = t.currency
    RETURNING a.account_id, a.currency, a.balance, t.entries`;
  return {
    ctes: [
      ["ledger_entries_written", entries],
      ["ledger_totals", totals],
      ["ledger_balances_moved", moved],
    ],
    check(returned) {
      const balances = returned as ReadonlyArray<{
        account_id: string;
        currency: string;
        balance: number;
        entries: number;
      }>;
      const written = balances.reduce((sum, row) => sum + row.entries, 0);
      const drift = balances.find(
        (row) => expected.get(accountKey(row.account_id, row.currency)) !== row.balance,
      );
      if (written !== postings.length || drift !== undefined) {
        throw new TransientError(
          "serialization_failure",
          `ledger moved under the batch (${written} of ${postings.length} entries written); retried`,
        );
      }
    },
  };
}

/** Writes planned postings and their balance moves in one statement (postingsPart), for a command. */
export async function writePostings(
  trx: Transaction<Database>,
  postings: readonly Posting[],
  expected: ReadonlyMap<string, number>,
): Promise<void> {
  await writeParts(trx, [postingsPart(postings, expected)]);
}

/** Counts committed postings in the balance-update metric (call after the commit). */
export function countPostings(postings: readonly Posting[]): void {
  for (const posting of postings) {
    balanceUpdates.inc({ direction: posting.amount > 0 ? "credit" : "debit", kind: posting.kind });
  }
}

function ledgerKind(kind: string): LedgerKind {
  if (!(ledgerKinds as readonly string[]).includes(kind))
    throw new Error(`ledger entry of unknown kind ${kind}`);
  return kind as LedgerKind;
}
