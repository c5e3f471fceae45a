import type { Transaction } from "kysely";
import type { Database } from "../db/schema/database.ts";
import type { DomainEvent } from "../domain/domain-events.ts";

/** Writes a domain event to the outbox in the caller's transaction; the same event id twice is one row. */
export async function emit(trx: Transaction<Database>, event: DomainEvent): Promise<void> {
  await emitAll(trx, [event]);
}

/** Writes domain events to the outbox in one statement, in order; an id already there (or twice) is one row. */
export async function emitAll(trx: Transaction<Database>, events: readonly DomainEvent[]): Promise<void> {
  if (events.length === 0) return;
  await trx
    .insertInto("outbox")
    .values(
      events.map((event) => ({
        event_id: event.id,
        type: event.type,
        correlation_id: event.correlationId,
        payload: JSON.stringify(event),
      })),
    )
    .onConflict((oc) => oc.column("event_id").doNothing())
    .execute();
}
