import amqplib, { type ConsumeMessage } from "amqplib";
import { names } from "../../lib/amqp/topology.ts";
import type { Db } from "../../lib/db/database.ts";

const eventTypes = ["payment.succeeded", "balance.credited", "command.succeeded"] as const;

/** The event body a handler's emit() writes: {id, type, occurredAt, correlationId, data}. */
export function testEvent(id: string, index: number) {
  return {
    id,
    type: eventTypes[index % eventTypes.length] as string,
    occurredAt: new Date(Date.UTC(2025, 0, 1, 0, 0, index % 60)).toISOString(),
    correlationId: `msg-${id}`,
    data: { accountId: `acct_${index % 7}`, amount: 100 + index, currency: "eur" },
  };
}

/** Inserts `count` outbox rows of the shape emit() writes; returns their event ids in insert order. */
export async function insertEvents(db: Db, prefix: string, count: number): Promise<string[]> {
  const events = Array.from({ length: count }, (_, i) => testEvent(`${prefix}-${i}`, i));
  for (let start = 0; start < events.length; start += 1000) {
    await db
      .insertInto("outbox")
      .values(
        events.slice(start, start + 1000).map((event) => ({
          event_id: event.id,
          type: event.type,
          correlation_id: event.correlationId,
          payload: JSON.stringify(event),
        })),
      )
      .execute();
  }
  return events.map((event) => event.id);
}

/** Event ids of the rows still waiting to be published. */
export async function unpublishedIds(db: Db): Promise<string[]> {
  const rows = await db.selectFrom("outbox").select("event_id").where("published_at", "is", null).execute();
  return rows.map((row) => row.event_id);
}

/** A service of our own listening to billing.events: a queue bound with '#', recording every delivery. */
export interface EventListener {
  readonly messages: ConsumeMessage[];
  /** messageId of every delivery, duplicates included. */
  ids(): string[];
  close(): Promise<void>;
}

/** Binds an exclusive queue to billing.events with '#' and records what arrives. */
export async function listenToEvents(url: string): Promise<EventListener> {
  const connection = await amqplib.connect(url);
  const channel = await connection.createChannel();
  await channel.assertExchange(names.events, "topic", { durable: true });
  const { queue } = await channel.assertQueue("", { exclusive: true });
  await channel.bindQueue(queue, names.events, "#");
  const messages: ConsumeMessage[] = [];
  await channel.consume(
    queue,
    (message) => {
      if (message !== null) messages.push(message);
    },
    { noAck: true },
  );
  return {
    messages,
    ids: () => messages.map((message) => String(message.properties.messageId)),
    close: () => connection.close(),
  };
}
