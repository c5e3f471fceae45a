import { type RawBuilder, sql, type Transaction } from "kysely";
import type { Database } from "./schema/database.ts";

// The writes of one transaction sent as ONE statement of data-modifying CTEs: one round trip
// instead of one per table. A round trip costs ~0.1 ms of Node's CPU in `writev` on TCP loopback,
// and Postgres a statement's start and end, whatever the batch's size (measured: ~8 ms of CPU per
// transaction at 10 events). The parts run in the order given (the final SELECT reads them in
// that order, so two workers lock new rows in the same order), each sees the database as it was
// before the statement, not the other parts' rows, and a part's RETURNING rows come back to its
// check. Postgres forbids two parts changing the same row: the plan never does (a row is either
// inserted or updated, and each table has one part of each).

/** One write: its CTEs in order (the last one's RETURNING rows are its result), and their check. */
export interface WritePart {
  readonly ctes: ReadonlyArray<readonly [name: string, statement: RawBuilder<unknown>]>;
  /** Throws when the rows the last CTE returned show the write went wrong. */
  readonly check?: (rows: readonly Record<string, unknown>[]) => void;
}

/** Runs the parts (undefined: nothing to write) as one statement, then each part's check. */
export async function writeParts(
  trx: Transaction<Database>,
  parts: ReadonlyArray<WritePart | undefined>,
): Promise<void> {
  const present = parts.filter((part): part is WritePart => part !== undefined && part.ctes.length > 0);
  if (present.length === 0) return;
  const ctes = present.flatMap((part) => part.ctes);
  const names = new Set(ctes.map(([name]) => name));
  if (names.size !== ctes.length) throw new Error(`write parts repeat a CTE name: ${ctes.map(([n]) => n)}`);
  const results = present.map((part, i) => {
    const last = sql.raw((part.ctes.at(-1) as readonly [string, unknown])[0]);
    return part.check === undefined
      ? sql`(SELECT count(*) FROM ${last}) AS ${sql.raw(`r${i}`)}`
      : sql`(SELECT coalesce(json_agg(${last}), '[]') FROM ${last}) AS ${sql.raw(`r${i}`)}`;
  });
  const { rows } = await sql<Record<string, unknown>>`
    WITH ${sql.join(ctes.map(([name, statement]) => sql`${sql.raw(name)} AS (${statement})`))}
    SELECT ${sql.join(results)}`.execute(trx);
  const [row] = rows;
  present.forEach((part, i) => {
    part.check?.((row?.[`r${i}`] ?? []) as Record<string, unknown>[]);
  });
}
