import { type SelectQueryBuilder, sql } from "kysely";
import type { Database } from "../../lib/db/schema/database.ts";
import { durationOption, stringOption } from "./option-values.ts";
import type { Options, Values } from "./verb.ts";

// The filters shared by `dlq list` and `dlq replay`: by type, by error text, by age.

export interface LetterFilter {
  /** Exact message type, e.g. payment_intent.succeeded. */
  readonly type?: string | undefined;
  /** Case-insensitive substring of the error. */
  readonly errorText?: string | undefined;
  /** Only letters that failed within this many ms. */
  readonly sinceMs?: number | undefined;
}

export const filterOptions: Options = {
  type: { type: "string" },
  error: { type: "string" },
  since: { type: "string" },
};

export const filterHelp = [
  "  --type T          only messages of type T (exact, e.g. payment_intent.succeeded)",
  "  --error TEXT      only letters whose error contains TEXT (case-insensitive)",
  "  --since DURATION  only letters that failed within DURATION (30m, 12h, 3d)",
].join("\n");

/** Reads --type, --error and --since. */
export function readFilter(values: Values): LetterFilter {
  return {
    type: stringOption(values, "type"),
    errorText: stringOption(values, "error"),
    sinceMs: durationOption(values, "since"),
  };
}

/** True when the filter selects something narrower than everything. */
export function isNarrowed(filter: LetterFilter): boolean {
  return filter.type !== undefined || filter.errorText !== undefined || filter.sinceMs !== undefined;
}

/** Adds the filter's conditions to a query over dead_letters. */
export function whereFilter<O>(
  filter: LetterFilter,
): (
  query: SelectQueryBuilder<Database, "dead_letters", O>,
) => SelectQueryBuilder<Database, "dead_letters", O> {
  return (query) => {
    let q = query;
    if (filter.type !== undefined) q = q.where("type", "=", filter.type);
    if (filter.errorText !== undefined) {
      const pattern = `%${filter.errorText.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q = q.where("error", "ilike", pattern);
    }
    if (filter.sinceMs !== undefined) {
      q = q.where("failed_at", ">=", sql<Date>`now() - ${filter.sinceMs} * interval '1 millisecond'`);
    }
    return q;
  };
}
