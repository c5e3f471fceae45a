import { stripeInboxKey } from "../amqp/inbound-message.ts";
import type { Db } from "../db/database.ts";

// Which listed Stripe events need nothing from reconciliation: applied (audited in stripe_events,
// or in the inbox) or parked as a dead letter (ops fix and replay those; enqueueing them again
// would only park them again).

export type KnownState = "applied" | "parked";

/** The known events among `eventIds`: applied, or parked as a dead letter. */
export async function knownEvents(db: Db, eventIds: readonly string[]): Promise<Map<string, KnownState>> {
  const known = new Map<string, KnownState>();
  if (eventIds.length === 0) return known;
  const ids = [...eventIds];
  const byKey = new Map(ids.map((id) => [stripeInboxKey(id), id]));
  const [parked, audited, inbox] = await Promise.all([
    db
      .selectFrom("dead_letters")
      .select("message_id")
      .where("status", "=", "parked")
      .where("message_id", "in", ids)
      .execute(),
    db.selectFrom("stripe_events").select("event_id").where("event_id", "in", ids).execute(),
    db
      .selectFrom("processed_messages")
      .select("message_id")
      .where("message_id", "in", [...byKey.keys()])
      .execute(),
  ]);
  for (const row of parked) if (row.message_id !== null) known.set(row.message_id, "parked");
  // Applied wins over parked: a letter replayed and applied may still read parked for a moment.
  for (const row of audited) known.set(row.event_id, "applied");
  for (const row of inbox) known.set(byKey.get(row.message_id) ?? row.message_id, "applied");
  return known;
}
