import { sql } from "kysely";
import type { Db } from "../db/database.ts";

export interface OutboxBacklog {
  /** Rows not yet published. */
  readonly pending: number;
  /** Age in seconds of the oldest unpublished row; 0 when none. */
  readonly lagSeconds: number;
}

/** Measures the unpublished backlog; the age is computed by Postgres so host clocks do not matter. */
export async function measureOutbox(db: Db): Promise<OutboxBacklog> {
  const row = await db
    .selectFrom("outbox")
    .select([
      sql<number>`count(*)`.as("pending"),
      sql<string | null>`extract(epoch from now() - min(created_at))`.as("lag"),
    ])
    .where("published_at", "is", null)
    .executeTakeFirstOrThrow();
  return { pending: Number(row.pending), lagSeconds: Math.max(0, Number(row.lag ?? 0)) };
}
