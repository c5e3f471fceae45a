import type { ColumnType, Generated } from "kysely";
import type { ColumnsOf, Json } from "./columns.ts";

export type AuditAction = "replay" | "purge";
/** Where an action came from: the web console or billing-ops. */
export type AuditVia = "console" | "cli";

/** One replay or purge of dead letters: who, what, which selection, how many, when, why. */
export interface OpsAuditTable {
  id: Generated<number>;
  acted_at: ColumnType<Date, never, never>;
  actor: string;
  via: AuditVia;
  action: AuditAction;
  filter: Json;
  count: number;
  reason: string | null;
  outcome: Json;
}

export const opsAuditColumns: ColumnsOf<OpsAuditTable> = {
  id: { type: "bigint", nullable: false },
  acted_at: { type: "timestamp with time zone", nullable: false },
  actor: { type: "text", nullable: false },
  via: { type: "text", nullable: false },
  action: { type: "text", nullable: false },
  filter: { type: "jsonb", nullable: false },
  count: { type: "integer", nullable: false },
  reason: { type: "text", nullable: true },
  outcome: { type: "jsonb", nullable: false },
};
