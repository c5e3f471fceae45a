import { sql } from "kysely";
import type { Db } from "../db/database.ts";
import { type BoundedSelection, selectedConditions } from "./letter-selection.ts";

// The dry run of a replay or a purge: the parked letters a selection takes, and why an id that
// was named is not among them. It changes nothing.

/** A parked letter a replay (or purge) would take. */
export interface Candidate {
  readonly id: number;
  readonly type: string | null;
  readonly messageId: string | null;
  /** The routing key it will be published with (the original one a retry kept in x-routing-key). */
  readonly routingKey: string;
  readonly error: string;
  readonly failedAt: Date;
}

/** An id that was asked for by name but is not taken, and why. */
export interface Skipped {
  readonly id: number;
  readonly reason: string;
}

/** The dry run: what would be taken, oldest first. */
export interface LetterPlan {
  readonly candidates: readonly Candidate[];
  /** Ids named in an id selection that are not parked: unknown, or already replayed or purged. */
  readonly notParked: readonly Skipped[];
  /** The newest id taken: a confirm bounded by it never takes letters parked since. */
  readonly upToId: number | undefined;
}

export const noSuchLetter = "no such dead letter";

/** The parked letters a selection takes, oldest first (a dry run: changes nothing). */
export async function planLetters(db: Db, bounded: BoundedSelection): Promise<LetterPlan> {
  const rows = await db
    .selectFrom("dead_letters")
    .select(["id", "type", "message_id", "error", "failed_at"])
    // What replayMessage will use: the original routing key a retry kept in x-routing-key.
    .select(sql<string>`coalesce(nullif(headers->>'x-routing-key', ''), routing_key)`.as("routing_key"))
    .where("status", "=", "parked")
    .where(selectedConditions(bounded))
    .orderBy("failed_at")
    .orderBy("id")
    .execute();
  const candidates = rows.map((r) => ({
    id: r.id,
    type: r.type,
    messageId: r.message_id,
    routingKey: r.routing_key,
    error: r.error,
    failedAt: r.failed_at,
  }));
  const { selection } = bounded;
  const notParked = selection.kind === "ids" ? await explainMissing(db, selection.ids, candidates) : [];
  const upToId = candidates.length === 0 ? undefined : Math.max(...candidates.map((c) => c.id));
  return { candidates, notParked, upToId };
}

/** Why each named id that is not among the candidates is not. */
async function explainMissing(
  db: Db,
  ids: readonly number[],
  candidates: readonly Candidate[],
): Promise<Skipped[]> {
  const chosen = new Set(candidates.map((c) => c.id));
  const rest = ids.filter((id) => !chosen.has(id));
  if (rest.length === 0) return [];
  const rows = await db.selectFrom("dead_letters").select(["id", "status"]).where("id", "in", rest).execute();
  const status = new Map(rows.map((r) => [r.id, r.status]));
  return rest.map((id) => {
    const s = status.get(id);
    return { id, reason: s === undefined ? noSuchLetter : `already ${s}` };
  });
}
