import type { ColumnType, SelectType } from "kysely";

// Each table file exports its Kysely row type and a runtime description of its columns; the type
// below forces the two to agree, and test/db/schema.test.ts compares the description with the
// migrated database, so the types cannot drift from sql/.

export type PgType =
  | "text"
  | "bigint"
  | "integer"
  | "boolean"
  | "timestamp with time zone"
  | "jsonb"
  | "bytea";

type PgTypeOf<V> = V extends Date
  ? "timestamp with time zone"
  : V extends Buffer
    ? "bytea"
    : V extends boolean
      ? "boolean"
      : V extends number
        ? "bigint" | "integer"
        : V extends string
          ? "text"
          : "jsonb";

type SpecOf<V> = null extends V
  ? { readonly type: PgTypeOf<NonNullable<V>>; readonly nullable: true }
  : { readonly type: PgTypeOf<V>; readonly nullable: false };

/** The runtime column description that a table type T requires. */
export type ColumnsOf<T> = { readonly [K in keyof T]-?: SpecOf<SelectType<T[K]>> };

/** A JSON object in a jsonb column: read as an object, written as its JSON text. */
export type Json = ColumnType<JsonObject, string, string>;
export type NullableJson = ColumnType<JsonObject | null, string | null, string | null>;
export type JsonObject = { [key: string]: unknown };
