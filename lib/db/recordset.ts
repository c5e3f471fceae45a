import { type RawBuilder, sql } from "kysely";
import type { ColumnsOf, PgType } from "./schema/columns.ts";

// Set-based statements take their rows in three parameters, whatever their number: every row as
// its own JSON document, the documents packed into ONE bytea, and their offsets and lengths. A
// relation `v` with the table's own column types reads them back, a document at a time
// (jsonb_to_record). The statement's text never changes with the number of rows. Parsing the whole
// batch as one jsonb value instead (jsonb_to_recordset) cost Postgres 1.3–3 times the CPU on the
// audit and outbox statements: one large tree built, copied and freed per statement.

/** The names of some columns of a table, checked against its Kysely type. */
export type ColumnNames<T> = readonly (keyof T & string)[];

/**
 * The relation `v` over `rows` (objects, serialized here), typed as the table's columns (or as
 * `as` says, e.g. text for JSON text cast later).
 */
export function recordset<T>(
  table: ColumnsOf<T>,
  names: ColumnNames<T>,
  rows: readonly object[],
  as: Partial<Record<keyof T & string, PgType>> = {},
): RawBuilder<unknown> {
  const texts = rows.map((row) => JSON.stringify(row));
  const sizes = texts.map((text) => Buffer.byteLength(text));
  // written straight into one buffer: no batch-sized string on the V8 heap
  const bytes = Buffer.allocUnsafe(sizes.reduce((sum, size) => sum + size, 0));
  let at = 0;
  for (const text of texts) at += bytes.write(text, at);
  return packed(table, names, bytes, sizes, as);
}

/**
 * As `recordset`, over rows already serialized, each a JSON object in UTF-8 (in pieces: the
 * documents are the concatenation of `rows`, one per entry of `sizes`). They travel as they are:
 * no string is made of them on either side.
 */
export function recordsetOfJson<T>(
  table: ColumnsOf<T>,
  names: ColumnNames<T>,
  rows: readonly Buffer[],
  sizes: readonly number[],
): RawBuilder<unknown> {
  return packed(table, names, Buffer.concat(rows), sizes, {});
}

function packed<T>(
  table: ColumnsOf<T>,
  names: ColumnNames<T>,
  bytes: Buffer,
  sizes: readonly number[],
  as: Partial<Record<keyof T & string, PgType>>,
): RawBuilder<unknown> {
  const definitions = names.map((name) => `${quote(name)} ${as[name] ?? table[name].type}`).join(", ");
  const starts: number[] = [];
  let at = 1; // substring counts from 1
  for (const size of sizes) {
    starts.push(at);
    at += size;
  }
  return sql`(SELECT r.* FROM unnest(${starts}::int4[], ${sizes}::int4[]) AS d(at, size),
    LATERAL jsonb_to_record(convert_from(substring(${bytes}::bytea FROM d.at FOR d.size), 'UTF8')::jsonb)
    AS r(${sql.raw(definitions)})) AS v`;
}

/** `"a", "b", …`: a column list for INSERT. */
export function columnList(names: readonly string[]): RawBuilder<unknown> {
  return sql.raw(names.map(quote).join(", "));
}

/** `"a" = v."a", …`: the SET list of an UPDATE … FROM recordset. */
export function setFromRecordset(names: readonly string[]): RawBuilder<unknown> {
  return sql.raw(names.map((name) => `${quote(name)} = v.${quote(name)}`).join(", "));
}

// Names come from the code (the ColumnNames type), never from input; quoting keeps them exact.
function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
