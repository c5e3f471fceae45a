import { sql } from "kysely";
import type { Db } from "../db/database.ts";

// The reconciler keeps its progress in billing.reconcile_cursor (one row per stream of Stripe
// events, sql/0003). The console reads it when the table exists, so it also shows a database the
// reconciler's migration has not reached (or has been rolled back from).

export interface ReconcileCursor {
  readonly stream: string;
  /** The Stripe `created` (unix seconds) up to which events are known to be enqueued, as ISO 8601. */
  readonly cursorCreated: string | null;
  readonly lastPassStartedAt: string | null;
  readonly lastSuccessAt: string | null;
  /** Events the last pass found never applied (and enqueued). */
  readonly lastFoundMissing: number | null;
  readonly updatedAt: string;
}

export type ReconcileStatus =
  | { readonly installed: false }
  | { readonly installed: true; readonly cursors: readonly ReconcileCursor[] };

/** The reconciler's cursors, or `installed: false` when its table does not exist. */
export async function readReconcileStatus(db: Db): Promise<ReconcileStatus> {
  const found = await sql<{
    present: boolean;
  }>`SELECT to_regclass('billing.reconcile_cursor') IS NOT NULL AS present`.execute(db);
  if (found.rows[0]?.present !== true) return { installed: false };
  const rows = await db
    .selectFrom("reconcile_cursor")
    .select([
      "stream",
      "cursor_created",
      "last_pass_started_at",
      "last_success_at",
      "last_found_missing",
      "updated_at",
    ])
    .orderBy("stream")
    .execute();
  return {
    installed: true,
    cursors: rows.map((r) => ({
      stream: r.stream,
      cursorCreated:
        r.cursor_created === null ? null : new Date(Number(r.cursor_created) * 1000).toISOString(),
      lastPassStartedAt: r.last_pass_started_at?.toISOString() ?? null,
      lastSuccessAt: r.last_success_at?.toISOString() ?? null,
      lastFoundMissing: r.last_found_missing,
      updatedAt: r.updated_at.toISOString(),
    })),
  };
}
