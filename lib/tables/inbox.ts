import { sql, type Transaction } from "kysely";
import type { Database } from "../db/schema/database.ts";

// The inbox: a key in processed_messages means its message was applied, by the transaction that
// inserted it. Claiming is the first write of a transaction: a concurrent worker holding one of
// the keys makes the claim wait for its commit (then: duplicate) or rollback (then: ours).

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

/** Gives back claims of messages this transaction does not apply after all (refused by the plan). */
export async function releaseInbox(trx: Transaction<Database>, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await sql`DELETE FROM billing.processed_messages WHERE message_id = ANY(${[...keys]}::text[])`.execute(trx);
}
