import { sql, type Transaction } from "kysely";
import { columnList, recordset } from "../db/recordset.ts";
import type { Database } from "../db/schema/database.ts";
import { outboxColumns } from "../db/schema/outbox.ts";
import { type WritePart, writeParts } from "../db/write-parts.ts";
import type { DomainEvent } from "../domain/domain-events.ts";

/** Writes domain events to the outbox (one part of a write), in order; an id already there (or twice) is one row. */
export function outboxPart(events: readonly DomainEvent[]): WritePart | undefined {
  if (events.length === 0) return undefined;
  const names = ["event_id", "type", "correlation_id", "payload"] as const;
  const rows = events.map((event) => ({
    event_id: event.id,
    type: event.type,
    correlation_id: event.correlationId,
    payload: event,
  }));
  const inserted = sql`
    INSERT INTO billing.outbox (${columnList(names)})
    SELECT ${columnList(names)} FROM ${recordset(outboxColumns, names, rows)}
    ON CONFLICT (event_id) DO NOTHING RETURNING event_id`;
  return { ctes: [["outbox_inserted", inserted]] };
}

/** Writes one domain event in the caller's transaction. */
export async function emit(trx: Transaction<Database>, event: DomainEvent): Promise<void> {
  await writeParts(trx, [outboxPart([event])]);
}
