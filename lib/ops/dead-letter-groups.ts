import { sql } from "kysely";
import type { Db } from "../db/database.ts";
import { filterConditions, type LetterFilter, type LetterGroupKey } from "./letter-selection.ts";

/** One group of parked dead letters: same type, same error. */
export interface DeadLetterGroup extends LetterGroupKey {
  readonly count: number;
  readonly firstFailedAt: string;
  readonly lastFailedAt: string;
}

/** Parked dead letters grouped by type and error, largest group first, then the most recent. */
export async function groupDeadLetters(db: Db, filter: LetterFilter = {}): Promise<DeadLetterGroup[]> {
  const rows = await db
    .selectFrom("dead_letters")
    .where("status", "=", "parked")
    .where(filterConditions(filter))
    .select((eb) => [
      "type",
      "error_kind",
      "error",
      eb.fn.countAll<number>().as("count"),
      eb.fn.min("failed_at").as("first"),
      eb.fn.max("failed_at").as("last"),
    ])
    .groupBy(["type", "error_kind", "error"])
    .orderBy(sql`count(*)`, "desc")
    .orderBy(sql`max(failed_at)`, "desc")
    .execute();
  return rows.map((r) => ({
    type: r.type,
    errorKind: r.error_kind,
    error: r.error,
    count: Number(r.count),
    firstFailedAt: r.first.toISOString(),
    lastFailedAt: r.last.toISOString(),
  }));
}
