import { sql } from "kysely";
import type { Publisher } from "../amqp/publisher.ts";
import { names } from "../amqp/topology.ts";
import type { Db } from "../db/database.ts";
import { eventMessage, type OutboxRow } from "./event-message.ts";

/**
 * Publishes up to `limit` unpublished outbox rows in one transaction: claim them (SKIP LOCKED, so
 * relays never share a row), publish all at once, wait for every confirm, then mark them
 * published and commit. Any failed publish throws and rolls back: the whole batch is published
 * again later with the same event ids (at-least-once). Returns how many rows it published.
 */
export async function relayBatch(db: Db, publisher: Publisher, limit: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const rows: OutboxRow[] = await trx
      .selectFrom("outbox")
      .select(["id", "event_id", "type", "correlation_id", "payload", "created_at"])
      .where("published_at", "is", null)
      .orderBy("id")
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
    if (rows.length === 0) return 0;

    const results = await Promise.allSettled(
      rows.map((row) => {
        const message = eventMessage(row);
        return publisher.publish(names.events, message.routingKey, message.content, message.options);
      }),
    );
    // Every confirm is in before deciding, so nothing is still being written when we roll back.
    const failed = results.find((result) => result.status === "rejected");
    if (failed !== undefined) throw failed.reason;

    await trx
      .updateTable("outbox")
      .set({ published_at: sql<Date>`now()` })
      .where(
        "id",
        "in",
        rows.map((row) => row.id),
      )
      .execute();
    return rows.length;
  });
}
