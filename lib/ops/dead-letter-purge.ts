import { sql } from "kysely";
import type { Db } from "../db/database.ts";
import { type Actor, recordAction } from "./audit-log.ts";
import { type BoundedSelection, selectedConditions } from "./letter-selection.ts";

// Purging gives up on messages: the parked letters of a selection are marked purged (the rows stay,
// for audit) and the action is recorded, in one transaction.

export interface PurgeOutcome {
  /** Ids purged now, ascending. */
  readonly purged: readonly number[];
  /** Ids named in an id selection that were not purged now: already purged, replayed, or unknown. */
  readonly notPurged: readonly { readonly id: number; readonly status: string }[];
  readonly auditId: number;
}

/** Marks the parked letters of a selection purged by the actor, with the audit row, atomically. */
export async function purgeLetters(
  db: Db,
  bounded: BoundedSelection,
  options: { actor: Actor; reason?: string | undefined },
): Promise<PurgeOutcome> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .updateTable("dead_letters")
      .set({ status: "purged", purged_at: sql<Date>`now()`, purged_by: options.actor.name })
      .where("status", "=", "parked")
      .where(selectedConditions(bounded))
      .returning("id")
      .execute();
    const purged = rows.map((r) => r.id).sort((a, b) => a - b);
    const { selection } = bounded;
    const done = new Set(purged);
    const rest = selection.kind === "ids" ? selection.ids.filter((id) => !done.has(id)) : [];
    const found =
      rest.length === 0
        ? []
        : await trx.selectFrom("dead_letters").select(["id", "status"]).where("id", "in", rest).execute();
    const status = new Map(found.map((r) => [r.id, r.status]));
    const notPurged = rest.map((id) => ({ id, status: status.get(id) ?? "unknown" }));
    const auditId = await recordAction(trx, {
      actor: options.actor,
      action: "purge",
      selection: bounded,
      count: purged.length,
      reason: options.reason,
      outcome: { purged, notPurged },
    });
    return { purged, notPurged, auditId };
  });
}
