import { sql, type Transaction } from "kysely";
import { columnList, recordsetOfJson } from "../db/recordset.ts";
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
  // Each payload is a JSON object already (the intake parsed it), so it goes into the rows' JSON as
  // it is: Postgres parses it once, and nothing escapes or re-encodes 1–2 KB per event.
  const json = `[${audits
    .map(
      (a) =>
        `{"event_id":${JSON.stringify(a.eventId)},"type":${JSON.stringify(a.type)},"event_created":${a.created},"payload":${a.payload}}`,
    )
    .join(",")}]`;
  await sql`
    INSERT INTO billing.stripe_events (${columnList(names)})
    SELECT ${columnList(names)} FROM ${recordsetOfJson(stripeEventsColumns, names, json)}
    ON CONFLICT (event_id) DO NOTHING`.execute(trx);
}
