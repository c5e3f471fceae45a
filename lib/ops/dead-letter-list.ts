import type { Db } from "../db/database.ts";
import { type BoundedSelection, selectedConditions } from "./letter-selection.ts";

/** One parked dead letter as a list shows it. */
export interface DeadLetterSummary {
  readonly id: number;
  readonly messageId: string | null;
  readonly type: string | null;
  readonly routingKey: string;
  readonly errorKind: string;
  readonly error: string;
  readonly attempts: number;
  readonly failedAt: string;
}

/** Parked dead letters of a selection, newest first, at most `limit`. */
export async function listDeadLetters(
  db: Db,
  selection: BoundedSelection,
  limit: number,
): Promise<DeadLetterSummary[]> {
  const rows = await db
    .selectFrom("dead_letters")
    .select(["id", "message_id", "type", "routing_key", "error_kind", "error", "attempts", "failed_at"])
    .where("status", "=", "parked")
    .where(selectedConditions(selection))
    .orderBy("failed_at", "desc")
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    messageId: r.message_id,
    type: r.type,
    routingKey: r.routing_key,
    errorKind: r.error_kind,
    error: r.error,
    attempts: r.attempts,
    failedAt: r.failed_at.toISOString(),
  }));
}
