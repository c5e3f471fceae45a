import { type RawBuilder, sql } from "kysely";
import type { ColumnsOf, PgType } from "./schema/columns.ts";

// Set-based statements take their rows as ONE jsonb parameter, expanded by jsonb_to_recordset
// into a relation `v` with the table's own column types: one statement writes any number of rows,
// its text never changes with their number, and building it costs a JSON.stringify.

/** The names of some columns of a table, checked against its Kysely type. */
export type ColumnNames<T> = readonly (keyof T & string)[];

/**
 * `jsonb_to_recordset($1) AS v(col type, …)` over `rows`, typed as the table's columns (or as
 * `as` says, e.g. text for JSON text cast later).
 */
export function recordset<T>(
  table: ColumnsOf<T>,
  names: ColumnNames<T>,
  rows: readonly object[],
  as: Partial<Record<keyof T & string, PgType>> = {},
): RawBuilder<unknown> {
  const definitions = names.map((name) => `${quote(name)} ${as[name] ?? table[name].type}`).join(", ");
  return sql`jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS v(${sql.raw(definitions)})`;
}

/**
 * As `recordset`, over rows already serialized as a JSON array in UTF-8 (`json`, in pieces). It
 * travels as a binary parameter: jsonb's binary form is a version byte (1) and the JSON text, so
 * the bytes are sent as they are, with no string made of them on either side.
 */
export function recordsetOfJson<T>(
  table: ColumnsOf<T>,
  names: ColumnNames<T>,
  json: readonly Buffer[],
): RawBuilder<unknown> {
  const definitions = names.map((name) => `${quote(name)} ${table[name].type}`).join(", ");
  return sql`jsonb_to_recordset(${Buffer.concat([jsonbVersion, ...json])}::jsonb) AS v(${sql.raw(definitions)})`;
}

const jsonbVersion = Buffer.from([1]);

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
