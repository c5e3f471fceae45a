import type { Kysely, Selectable } from "kysely";
import type { Db } from "../db/database.ts";
import type { Database } from "../db/schema/database.ts";
import type { AuditAction, AuditVia, OpsAuditTable } from "../db/schema/ops-audit.ts";
import { type BoundedSelection, selectionRecord } from "./letter-selection.ts";

// Every replay and purge is written to billing.ops_audit, whether it came from the console or
// from billing-ops: who, what, which selection, how many, when, why.

/** Who acts, and through which face; the name is recorded on the letters and in the audit. */
export interface Actor {
  readonly name: string;
  readonly via: AuditVia;
}

export interface AuditEntry {
  readonly id: number;
  readonly actedAt: string;
  readonly actor: string;
  readonly via: AuditVia;
  readonly action: AuditAction;
  readonly filter: Record<string, unknown>;
  readonly count: number;
  readonly reason: string | null;
  readonly outcome: Record<string, unknown>;
}

/** Inserts one audit row (in the caller's transaction when given one); returns its id. */
export async function recordAction(
  db: Kysely<Database>,
  entry: {
    actor: Actor;
    action: AuditAction;
    selection: BoundedSelection;
    count: number;
    reason?: string | undefined;
    outcome: Record<string, unknown>;
  },
): Promise<number> {
  const row = await db
    .insertInto("ops_audit")
    .values({
      actor: entry.actor.name,
      via: entry.actor.via,
      action: entry.action,
      filter: JSON.stringify(selectionRecord(entry.selection)),
      count: entry.count,
      reason: entry.reason ?? null,
      outcome: JSON.stringify(entry.outcome),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The newest audit entries first, at most `limit`. */
export async function listAudit(db: Db, limit: number): Promise<AuditEntry[]> {
  const rows = await db
    .selectFrom("ops_audit")
    .selectAll()
    .orderBy("acted_at", "desc")
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.map(toEntry);
}

/** One audit entry, or undefined. */
export async function findAuditEntry(db: Db, id: number): Promise<AuditEntry | undefined> {
  const row = await db.selectFrom("ops_audit").selectAll().where("id", "=", id).executeTakeFirst();
  return row === undefined ? undefined : toEntry(row);
}

function toEntry(r: Selectable<OpsAuditTable>): AuditEntry {
  return {
    id: r.id,
    actedAt: r.acted_at.toISOString(),
    actor: r.actor,
    via: r.via,
    action: r.action,
    filter: r.filter,
    count: r.count,
    reason: r.reason,
    outcome: r.outcome,
  };
}
