import { sql } from "kysely";
import { inboxKeyOf, readMessage } from "../../lib/amqp/inbound-message.ts";
import type { Db } from "../../lib/db/database.ts";

// The retention rule of `billing-ops prune`. What idempotency still needs is never deleted:
// - Stripe retries a webhook for up to 3 days, and the inbox (processed_messages) is what makes a
//   late retry a no-op, so no inbox or audit row younger than 3 days goes, whatever the window;
// - a message that has a parked dead letter keeps its inbox and audit rows, so replaying it later
//   is still absorbed if it had in fact been applied (a delivery-limit neighbour);
// - unpublished outbox rows are pending work, never retention;
// - billing.commands rows are never pruned: a command row is that command's idempotency record
//   (same id, same effect; other fields, idempotency_conflict), and services may retry at any time;
// - dead letters are the audit of what failed and who replayed or purged it: kept.

/** No window shorter than Stripe's webhook retry period. */
export const minimumRetentionMs = 3 * 86_400_000;

export type PruneTarget = "processed_messages" | "stripe_events" | "outbox";

export const pruneTargets: readonly PruneTarget[] = ["processed_messages", "stripe_events", "outbox"];

/** What one prune run keeps, decided once at its start. */
export interface PrunePlan {
  /** Rows older than this go (the database's clock). */
  readonly cutoff: Date;
  /** Inbox keys of the messages that have a parked dead letter. */
  readonly protectedInboxKeys: readonly string[];
}

/** The cutoff (now - window, by the database's clock) and the inbox keys parked dead letters protect. */
export async function planPrune(db: Db, windowMs: number): Promise<PrunePlan> {
  const { cutoff } = await db
    .selectNoFrom(sql<Date>`now() - ${windowMs} * interval '1 millisecond'`.as("cutoff"))
    .executeTakeFirstOrThrow();
  const parked = await db
    .selectFrom("dead_letters")
    .select(["message_id", "type", "body"])
    .select(sql<string>`coalesce(nullif(headers->>'x-routing-key', ''), routing_key)`.as("routing_key"))
    .where("status", "=", "parked")
    .where("message_id", "is not", null)
    .execute();
  const keys: string[] = [];
  for (const letter of parked) {
    // Keyed as the worker keys it; a letter that never had a key (no id) has no row.
    const raw = {
      messageId: letter.message_id,
      type: letter.type,
      routingKey: letter.routing_key,
      headers: {},
      body: letter.body,
    };
    const key = inboxKeyOf(readMessage(raw, "any"), letter.body);
    if (key !== undefined) keys.push(key);
  }
  return { cutoff, protectedInboxKeys: keys };
}

/** Deletes at most `batch` prunable rows of one table, in one short transaction; returns how many. */
export async function pruneBatch(
  db: Db,
  target: PruneTarget,
  plan: PrunePlan,
  batch: number,
): Promise<number> {
  const result = await deletion(db, target, plan, batch).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** How many rows of one table prune would delete now. */
export async function countPrunable(db: Db, target: PruneTarget, plan: PrunePlan): Promise<number> {
  const row =
    target === "processed_messages"
      ? await inboxRows(db, plan)
          .clearSelect()
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .executeTakeFirstOrThrow()
      : target === "stripe_events"
        ? await auditRows(db, plan)
            .clearSelect()
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .executeTakeFirstOrThrow()
        : await outboxRows(db, plan)
            .clearSelect()
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .executeTakeFirstOrThrow();
  return Number(row.n);
}

function deletion(db: Db, target: PruneTarget, plan: PrunePlan, batch: number) {
  switch (target) {
    case "processed_messages":
      return db.deleteFrom("processed_messages").where("message_id", "in", inboxRows(db, plan).limit(batch));
    case "stripe_events":
      return db.deleteFrom("stripe_events").where("event_id", "in", auditRows(db, plan).limit(batch));
    case "outbox":
      return db.deleteFrom("outbox").where("id", "in", outboxRows(db, plan).limit(batch));
  }
}

function inboxRows(db: Db, plan: PrunePlan) {
  return db
    .selectFrom("processed_messages as p")
    .select("p.message_id")
    .where("p.processed_at", "<", plan.cutoff)
    .where(sql<boolean>`p.message_id <> ALL(${[...plan.protectedInboxKeys]}::text[])`);
}

function auditRows(db: Db, plan: PrunePlan) {
  return db
    .selectFrom("stripe_events as e")
    .select("e.event_id")
    .where("e.received_at", "<", plan.cutoff)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("dead_letters as d")
            .select("d.id")
            .where("d.status", "=", "parked")
            .whereRef("d.message_id", "=", "e.event_id"),
        ),
      ),
    );
}

function outboxRows(db: Db, plan: PrunePlan) {
  return db
    .selectFrom("outbox as o")
    .select("o.id")
    .where("o.published_at", "is not", null)
    .where("o.published_at", "<", plan.cutoff);
}
