import { sql, type Transaction } from "kysely";
import { columnList, recordset } from "../db/recordset.ts";
import type { Database } from "../db/schema/database.ts";
import { stripeEventsColumns } from "../db/schema/stripe-events.ts";

/** One Stripe event to keep in the audit table: its exact payload (the webhook's bytes, as text). */
export interface AuditRow {
  readonly eventId: string;
  readonly type: string;
  readonly created: number;
  readonly payload: string;
}

/** Writes audit rows in one statement; an event id already there (or twice) is one row. */
export async function auditStripeEvents(
  trx: Transaction<Database>,
  audits: readonly AuditRow[],
): Promise<void> {
  if (audits.length === 0) return;
  const names = ["event_id", "type", "event_created", "payload"] as const;
  const rows = audits.map((a) => ({
    event_id: a.eventId,
    type: a.type,
    event_created: a.created,
    payload: a.payload,
  }));
  // payload travels as JSON text and is parsed once, by the cast
  await sql`
    INSERT INTO billing.stripe_events (${columnList(names)})
    SELECT event_id, type, event_created, payload::jsonb
    FROM ${recordset(stripeEventsColumns, names, rows, { payload: "text" })}
    ON CONFLICT (event_id) DO NOTHING`.execute(trx);
}
