import { sql } from "kysely";
import type { Db } from "../db/database.ts";

// The reconciler keeps its progress in billing.reconcile_cursor (one row per stream of Stripe
// events). The console reads it when the table exists, so it runs against a schema with or without
// the reconciler's migration.

export interface ReconcileCursor {
  readonly stream: string;
  /** The Stripe `created` (unix seconds) up to which events are known to be enqueued, as ISO 8601. */
  readonly cursorCreated: string | null;
  readonly lastPassStartedAt: string | null;
  readonly lastSuccessAt: string | null;
  /** Events the last pass found never applied (and enqueued). */
  readonly lastFoundMissing: number | null;
  readonly updatedAt: string | null;
}

export type ReconcileStatus =
  | { readonly installed: false }
  | { readonly installed: true; readonly cursors: readonly ReconcileCursor[] };

interface CursorRow {
  stream: string;
  cursor_created: number | string | null;
  last_pass_started_at: Date | null;
  last_success_at: Date | null;
  last_found_missing: number | null;
  updated_at: Date | null;
}

/** The reconciler's cursors, or `installed: false` when its table does not exist. */
export async function readReconcileStatus(db: Db): Promise<ReconcileStatus> {
  const found = await sql<{
    present: boolean;
  }>`SELECT to_regclass('billing.reconcile_cursor') IS NOT NULL AS present`.execute(db);
  if (found.rows[0]?.present !== true) return { installed: false };
  const { rows } = await sql<CursorRow>`
    SELECT stream, cursor_created, last_pass_started_at, last_success_at, last_found_missing, updated_at
    FROM billing.reconcile_cursor ORDER BY stream`.execute(db);
  return {
    installed: true,
    cursors: rows.map((r) => ({
      stream: r.stream,
      cursorCreated:
        r.cursor_created === null ? null : new Date(Number(r.cursor_created) * 1000).toISOString(),
      lastPassStartedAt: r.last_pass_started_at?.toISOString() ?? null,
      lastSuccessAt: r.last_success_at?.toISOString() ?? null,
      lastFoundMissing: r.last_found_missing,
      updatedAt: r.updated_at?.toISOString() ?? null,
    })),
  };
}
