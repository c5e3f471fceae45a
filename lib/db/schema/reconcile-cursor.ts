import type { ColumnType } from "kysely";
import type { ColumnsOf } from "./columns.ts";

/** The reconciler's cursor over Stripe's Events API, one row per stream (sql/0003_reconcile_cursor.sql). */
export interface ReconcileCursorTable {
  stream: string;
  /** Unix seconds: the created of the newest event a successful pass listed. */
  cursor_created: number | null;
  /** Unix seconds: when the last successful pass began listing. */
  listed_through: number | null;
  last_pass_started_at: Date | null;
  last_success_at: Date | null;
  last_found_missing: number | null;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export const reconcileCursorColumns: ColumnsOf<ReconcileCursorTable> = {
  stream: { type: "text", nullable: false },
  cursor_created: { type: "bigint", nullable: true },
  listed_through: { type: "bigint", nullable: true },
  last_pass_started_at: { type: "timestamp with time zone", nullable: true },
  last_success_at: { type: "timestamp with time zone", nullable: true },
  last_found_missing: { type: "integer", nullable: true },
  updated_at: { type: "timestamp with time zone", nullable: false },
};
