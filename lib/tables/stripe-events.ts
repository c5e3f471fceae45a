import { sql, type Transaction } from "kysely";
import { columnList, recordsetOfJson } from "../db/recordset.ts";
import type { Database } from "../db/schema/database.ts";
import { stripeEventsColumns } from "../db/schema/stripe-events.ts";

/** One Stripe event to keep in the audit table: its exact payload (the webhook's bytes, a JSON object). */
export interface AuditRow {
  readonly eventId: string;
  readonly type: string;
  readonly created: number;
  readonly payload: Buffer;
}

/** Writes audit rows in one statement; an event id already there (or twice) is one row. */
export async function auditStripeEvents(
  trx: Transaction<Database>,
  audits: readonly AuditRow[],
): Promise<void> {
  if (audits.length === 0) return;
  const names = ["event_id", "type", "event_created", "payload"] as const;
  // Each payload is a JSON object already (the intake parsed it), so its bytes go into its row's
  // JSON as they are: nothing decodes, escapes or re-encodes the 1–2 KB of each event, and
  // Postgres parses it once.
  const parts: Buffer[] = [];
  const sizes: number[] = [];
  for (const a of audits) {
    const head = Buffer.from(
      `{"event_id":${JSON.stringify(a.eventId)},"type":${JSON.stringify(a.type)},"event_created":${a.created},"payload":`,
    );
    const payload = withoutBom(a.payload);
    parts.push(head, payload, closeRow);
    sizes.push(head.length + payload.length + closeRow.length);
  }
  await sql`
    INSERT INTO billing.stripe_events (${columnList(names)})
    SELECT ${columnList(names)} FROM ${recordsetOfJson(stripeEventsColumns, names, parts, sizes)}
    ON CONFLICT (event_id) DO NOTHING`.execute(trx);
}

const closeRow = Buffer.from("}");

// A leading UTF-8 BOM, which JSON.parse skipped at intake, is not JSON.
function withoutBom(body: Buffer): Buffer {
  return body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? body.subarray(3) : body;
}
