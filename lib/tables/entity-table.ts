import { sql, type Transaction } from "kysely";
import { columnList, recordset, setFromRecordset } from "../db/recordset.ts";
import type { ColumnsOf } from "../db/schema/columns.ts";
import type { Database } from "../db/schema/database.ts";
import type { WritePart } from "../db/write-parts.ts";
import type { EntityWrites } from "../domain/entity-states.ts";
import { TransientError } from "../domain/errors.ts";

// The tables a batch reads under lock and writes back whole (payments, subscriptions, invoices):
// one statement locks every row of the batch in key order, one inserts the new rows, one updates
// the changed ones. The same key order in every transaction is what keeps two workers from
// deadlocking on rows they share.

/** A table of entities keyed by a Stripe id, and the columns the apply path reads and writes. */
export interface EntityTable<T, Row> {
  readonly name: "payments" | "subscriptions" | "invoices";
  readonly key: keyof T & string;
  readonly columns: ColumnsOf<T>;
  readonly names: readonly (keyof T & string)[];
  /** A row as the database returns it, checked, as the planner's state. */
  fromRow(row: Record<string, unknown>): Row;
  /** A state as the row to write (values for `names`). */
  toRow(state: Row): Record<string, unknown>;
}

/** Locks the rows of `ids` in key order and reads them, by id. */
export async function lockEntities<T, Row>(
  trx: Transaction<Database>,
  table: EntityTable<T, Row>,
  ids: readonly string[],
): Promise<Map<string, Row>> {
  const found = new Map<string, Row>();
  if (ids.length === 0) return found;
  const key = sql.ref(table.key);
  const { rows } = await sql<Record<string, unknown>>`
    SELECT ${columnList(table.names)} FROM ${sql.table(`billing.${table.name}`)}
    WHERE ${key} = ANY(${ids}::text[]) ORDER BY ${key} FOR UPDATE`.execute(trx);
  for (const row of rows) found.set(String(row[table.key]), table.fromRow(row));
  return found;
}

/**
 * The writes of a table for a batch: one part inserting the new rows, one updating the changed
 * ones (lib/db/write-parts.ts). A new row that a concurrent transaction inserted first (it was not
 * there to lock) fails the batch as a serialization failure: retried, it finds the row and locks it.
 */
export function entityWriteParts<T, Row>(table: EntityTable<T, Row>, writes: EntityWrites<Row>): WritePart[] {
  const key = sql.ref(table.key);
  const target = sql.table(`billing.${table.name}`);
  const parts: WritePart[] = [];
  if (writes.inserts.length > 0) {
    const rows = writes.inserts.map((state) => table.toRow(state));
    const inserted = sql`
      INSERT INTO ${target} (${columnList(table.names)})
      SELECT ${columnList(table.names)} FROM ${recordset(table.columns, table.names, rows)}
      ON CONFLICT (${key}) DO NOTHING RETURNING ${key}`;
    parts.push({
      ctes: [[`${table.name}_inserted`, inserted]],
      check(returned) {
        if (returned.length === rows.length) return;
        const ids = new Set(returned.map((row) => String(row[table.key])));
        const raced = rows.map((row) => String(row[table.key])).filter((id) => !ids.has(id));
        throw new TransientError(
          "serialization_failure",
          `${table.name} ${raced.join(", ")} inserted by a concurrent transaction; the batch is retried`,
        );
      },
    });
  }
  if (writes.updates.length > 0) {
    const rows = writes.updates.map((state) => table.toRow(state));
    const changed = table.names.filter((name) => name !== table.key);
    const updated = sql`
      UPDATE ${target} AS t SET ${setFromRecordset(changed)}, "updated_at" = now()
      FROM ${recordset(table.columns, table.names, rows)}
      WHERE t.${key} = v.${key} RETURNING t.${key}`;
    parts.push({ ctes: [[`${table.name}_updated`, updated]] });
  }
  return parts;
}
