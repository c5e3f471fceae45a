import { type Expression, type ExpressionBuilder, type SqlBool, sql } from "kysely";
import type { Database } from "../db/schema/database.ts";

// Which dead letters an operation is about: the same four ways for billing-ops and the console.
// Replay and purge only ever touch parked letters; the selection narrows those.

/** Narrows dead letters by type, error text and age. */
export interface LetterFilter {
  /** Exact message type, e.g. payment_intent.succeeded. */
  readonly type?: string | undefined;
  /** Case-insensitive substring of the error. */
  readonly errorText?: string | undefined;
  /** Only letters that failed within this many ms. */
  readonly sinceMs?: number | undefined;
}

/** A group as `groupDeadLetters` makes it: exact type (null: none), error kind and error text. */
export interface LetterGroupKey {
  readonly type: string | null;
  readonly errorKind: string;
  readonly error: string;
}

export type LetterSelection =
  | { readonly kind: "ids"; readonly ids: readonly number[] }
  | ({ readonly kind: "group" } & LetterGroupKey)
  | { readonly kind: "filter"; readonly filter: LetterFilter }
  | { readonly kind: "all" };

/**
 * A selection as it is carried out: `upToId` leaves out letters parked after a dry run was shown
 * (ids only grow), so a confirmed action never touches more than the dry run listed.
 */
export interface BoundedSelection {
  readonly selection: LetterSelection;
  readonly upToId?: number | undefined;
}

/** True when the filter selects something narrower than everything. */
export function isNarrowed(filter: LetterFilter): boolean {
  return filter.type !== undefined || filter.errorText !== undefined || filter.sinceMs !== undefined;
}

/** The selection as the audit table records it. */
export function selectionRecord(bounded: BoundedSelection): Record<string, unknown> {
  const { selection, upToId } = bounded;
  const bound = upToId === undefined ? {} : { upToId };
  switch (selection.kind) {
    case "ids":
      return { ids: selection.ids, ...bound };
    case "group":
      return {
        group: { type: selection.type, errorKind: selection.errorKind, error: selection.error },
        ...bound,
      };
    case "filter":
      return { filter: { ...selection.filter }, ...bound };
    case "all":
      return { all: true, ...bound };
  }
}

type LetterConditions = (eb: ExpressionBuilder<Database, "dead_letters">) => Expression<SqlBool>;

/** The filter's conditions on dead_letters, for `.where(...)` of a select or an update. */
export function filterConditions(filter: LetterFilter): LetterConditions {
  return (eb) => {
    const parts: Expression<SqlBool>[] = [];
    if (filter.type !== undefined) parts.push(eb("type", "=", filter.type));
    if (filter.errorText !== undefined) parts.push(eb("error", "ilike", likePattern(filter.errorText)));
    if (filter.sinceMs !== undefined) {
      parts.push(eb("failed_at", ">=", sql<Date>`now() - ${filter.sinceMs} * interval '1 millisecond'`));
    }
    return eb.and(parts);
  };
}

/** The selection's conditions (not the status) on dead_letters, for a select or an update. */
export function selectedConditions(bounded: BoundedSelection): LetterConditions {
  return (eb) => {
    const { selection, upToId } = bounded;
    const parts: Expression<SqlBool>[] = upToId === undefined ? [] : [eb("id", "<=", upToId)];
    switch (selection.kind) {
      case "ids":
        // an empty list selects nothing, never everything
        parts.push(selection.ids.length === 0 ? sql<SqlBool>`false` : eb("id", "in", selection.ids));
        break;
      case "group":
        parts.push(selection.type === null ? eb("type", "is", null) : eb("type", "=", selection.type));
        parts.push(eb("error_kind", "=", selection.errorKind), eb("error", "=", selection.error));
        break;
      case "filter":
        parts.push(filterConditions(selection.filter)(eb));
        break;
      case "all":
        break;
    }
    return eb.and(parts);
  };
}

/** `text` as an ILIKE pattern matching it anywhere, with %, _ and \ taken literally. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
