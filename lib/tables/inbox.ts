import { sql, type Transaction } from "kysely";
import type { Database } from "../db/schema/database.ts";

// The inbox: a key in processed_messages means its message was applied, by the transaction that
// inserted it. A concurrent worker holding one of the keys makes a claim wait for its commit
// (then: a duplicate) or its rollback (then: ours). The runtime never deletes a key (retention does).

/** Claims `keys` in one statement (in key order); resolves with the ones this transaction got. */
export async function claimInbox(trx: Transaction<Database>, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const sorted = [...new Set(keys)].sort();
  const { rows } = await sql<{ message_id: string }>`
    INSERT INTO billing.processed_messages (message_id)
    SELECT unnest(${sorted}::text[])
    ON CONFLICT (message_id) DO NOTHING RETURNING message_id`.execute(trx);
  return new Set(rows.map((row) => row.message_id));
}

/** The keys among `keys` that the inbox holds (committed, or claimed by this transaction). */
export async function inboxHolds(trx: Transaction<Database>, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const { rows } = await sql<{ message_id: string }>`
    SELECT message_id FROM billing.processed_messages WHERE message_id = ANY(${[...new Set(keys)]}::text[])`.execute(
    trx,
  );
  return new Set(rows.map((row) => row.message_id));
}
