import { sql } from "kysely";
import { columnList, recordsetOfJson } from "../db/recordset.ts";
import { stripeEventsColumns } from "../db/schema/stripe-events.ts";
import type { WritePart } from "../db/write-parts.ts";

/** One Stripe event to keep in the audit table: its exact payload (the webhook's bytes, a JSON object). */
export interface AuditRow {
  readonly eventId: string;
  readonly type: string;
  readonly created: number;
  readonly payload: Buffer;
}

/** Writes audit rows (one part of a batch's write); an event id already there (or twice) is one row. */
export function auditPart(audits: readonly AuditRow[]): WritePart | undefined {
  if (audits.length === 0) return undefined;
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
  const inserted = sql`
    INSERT INTO billing.stripe_events (${columnList(names)})
    SELECT ${columnList(names)} FROM ${recordsetOfJson(stripeEventsColumns, names, parts, sizes)}
    ON CONFLICT (event_id) DO NOTHING RETURNING event_id`;
  return { ctes: [["stripe_events_inserted", inserted]] };
}

const closeRow = Buffer.from("}");

// A leading UTF-8 BOM, which JSON.parse skipped at intake, is not JSON.
function withoutBom(body: Buffer): Buffer {
  return body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? body.subarray(3) : body;
}
