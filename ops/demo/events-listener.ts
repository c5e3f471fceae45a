import amqplib from "amqplib";
import { names } from "../../lib/amqp/topology.ts";

/** What another service listening on billing.events saw. */
export interface EventsSeen {
  /** Deliveries received (at-least-once: may exceed the distinct count). */
  received: number;
  /** Distinct event ids. */
  distinct: number;
  byType: Record<string, number>;
  /** The last body received per correlationId of command.succeeded / command.failed. */
  commandResults: Map<string, { type: string; data: unknown }>;
}

/** A listener bound to billing.events like another service's would be; `close` stops it. */
export interface EventsListener {
  seen(): EventsSeen;
  close(): Promise<void>;
}

/** Binds a private queue to billing.events (every routing key) and counts what arrives. */
export async function listenToDomainEvents(amqpUrl: string): Promise<EventsListener> {
  const connection = await amqplib.connect(amqpUrl);
  connection.on("error", () => {});
  const channel = await connection.createChannel();
  const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, names.events, "#");
  const ids = new Set<string>();
  const seen: EventsSeen = { received: 0, distinct: 0, byType: {}, commandResults: new Map() };
  await channel.consume(
    queue,
    (message) => {
      if (message === null) return;
      seen.received += 1;
      const id = message.properties.messageId as string | undefined;
      const type = (message.properties.type as string | undefined) ?? message.fields.routingKey;
      if (id !== undefined && !ids.has(id)) {
        ids.add(id);
        seen.distinct += 1;
        seen.byType[type] = (seen.byType[type] ?? 0) + 1;
      }
      const correlationId = message.properties.correlationId as string | undefined;
      if (type.startsWith("command.") && correlationId !== undefined) {
        try {
          const body = JSON.parse(message.content.toString("utf8")) as { data?: unknown };
          seen.commandResults.set(correlationId, { type, data: body.data });
        } catch {
          seen.commandResults.set(correlationId, { type, data: null });
        }
      }
    },
    { noAck: true },
  );
  return {
    seen: () => seen,
    async close() {
      await connection.close().catch(() => undefined);
    },
  };
}
