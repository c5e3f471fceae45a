import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBroker } from "../../lib/amqp/connection.ts";
import { createPublisher } from "../../lib/amqp/publisher.ts";
import { createDb, type Db } from "../../lib/db/database.ts";
import { domainEvent } from "../../lib/domain/domain-events.ts";
import { outboxLag, outboxPending } from "../../lib/metrics/registry.ts";
import { measureOutbox } from "../../lib/relay/outbox-lag.ts";
import { type OutboxRelay, type OutboxRelayOptions, startOutboxRelay } from "../../lib/relay/outbox-relay.ts";
import { emit } from "../../lib/tables/outbox.ts";
import { testLogger } from "../helpers/config.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  type EventListener,
  insertEvents,
  listenToEvents,
  testEvent,
  unpublishedIds,
} from "./outbox-fixtures.ts";

const services = useTestServices();
const log = testLogger();

interface Started {
  readonly relay: OutboxRelay;
  stop(): Promise<void>;
}

/** A relay as the relay process builds it: its own pool, connection and confirm channel. */
async function startTestRelay(options: Partial<OutboxRelayOptions> = {}): Promise<Started> {
  const db: Db = createDb({ url: services.database.url, poolSize: 2 });
  const broker = connectBroker(services.vhost.url, { log, name: "relay-test" });
  const publisher = createPublisher(broker, { log, timeoutMs: 5000, retryDelaysMs: [], mandatory: false });
  await waitFor(() => publisher.isReady(), "relay publisher ready");
  const relay = startOutboxRelay({ db, publisher, log }, options);
  return {
    relay,
    async stop() {
      await relay.stop();
      await publisher.close();
      await broker.close();
      await db.destroy();
    },
  };
}

async function publishedRows(prefix: string) {
  return services.database.db
    .selectFrom("outbox")
    .select(["event_id", "created_at", "published_at"])
    .where("event_id", "like", `${prefix}-%`)
    .execute();
}

function countBy(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

describe("outbox relay", () => {
  // billing.events may have no queue at all: an event nobody listens to is still delivered
  // (confirmed) and must be marked published, not retried forever.
  it("marks events published when no queue is bound to billing.events", async () => {
    const ids = await insertEvents(services.database.db, "unbound", 30);
    const started = await startTestRelay();
    try {
      await waitFor(async () => (await unpublishedIds(services.database.db)).length === 0, "outbox drained");
      expect(started.relay.published()).toBe(ids.length);
    } finally {
      await started.stop();
    }
  });

  describe("with a service listening", () => {
    let listener: EventListener;
    beforeAll(async () => {
      listener = await listenToEvents(services.vhost.url);
    });
    afterAll(async () => {
      await listener.close();
    });

    // Each row becomes exactly one message carrying the Contract's domain-event properties and body,
    // through full batches and a partial one.
    it("publishes each row once, with the Contract's properties and body", async () => {
      const ids = await insertEvents(services.database.db, "once", 250);
      const started = await startTestRelay({ batchSize: 100 });
      try {
        const mine = () => listener.ids().filter((id) => id.startsWith("once-"));
        await waitFor(() => mine().length >= ids.length, "every event delivered");
        await waitFor(
          async () => (await unpublishedIds(services.database.db)).length === 0,
          "every row marked",
        );
        // a little longer: nothing is published a second time
        await new Promise((r) => setTimeout(r, 300));
        expect(mine()).toHaveLength(ids.length);
        expect(new Set(mine())).toEqual(new Set(ids));
        expect(started.relay.published()).toBe(ids.length);

        const rows = await publishedRows("once");
        expect(rows.every((row) => row.published_at !== null)).toBe(true);
        const createdAt = new Map(rows.map((row) => [row.event_id, row.created_at]));

        const message = listener.messages.find((m) => m.properties.messageId === "once-7");
        const expected = testEvent("once-7", 7);
        expect(message?.fields.exchange).toBe("billing.events");
        expect(message?.fields.routingKey).toBe(expected.type);
        expect(message?.properties).toMatchObject({
          messageId: expected.id,
          type: expected.type,
          correlationId: expected.correlationId,
          contentType: "application/json",
          deliveryMode: 2,
          timestamp: Math.floor((createdAt.get("once-7")?.getTime() ?? 0) / 1000),
        });
        const body = JSON.parse(message?.content.toString() ?? "null");
        expect(body).toEqual(expected);
        // the Contract's key order, whatever order jsonb stored them in
        expect(Object.keys(body)).toEqual(["id", "type", "occurredAt", "correlationId", "data"]);
      } finally {
        await started.stop();
      }
    });

    // A state change as a handler records it (emit in its transaction; a redelivered source message
    // emits the same event again) is published exactly once, under the event's stable id.
    it("publishes an event written by emit() once, even when emitted twice", async () => {
      const event = domainEvent({
        type: "balance.credited",
        sourceId: "evt_stripe_emit_1",
        correlationId: "evt_stripe_emit_1",
        occurredAt: new Date("2025-02-01T10:00:00Z"),
        data: { accountId: "acct_1", amount: 1250, currency: "usd" },
      });
      for (let i = 0; i < 2; i += 1) {
        await services.database.db.transaction().execute((trx) => emit(trx, event));
      }
      const started = await startTestRelay();
      try {
        await waitFor(() => listener.ids().includes(event.id), "event delivered");
        await waitFor(async () => (await unpublishedIds(services.database.db)).length === 0, "row marked");
        await new Promise((r) => setTimeout(r, 300));
        const copies = listener.messages.filter((m) => m.properties.messageId === event.id);
        expect(copies).toHaveLength(1);
        expect(copies[0]?.fields.routingKey).toBe("balance.credited");
        expect(copies[0]?.properties.correlationId).toBe("evt_stripe_emit_1");
        expect(JSON.parse(copies[0]?.content.toString() ?? "null")).toEqual(event);
      } finally {
        await started.stop();
      }
    });

    // Several relays may run (SKIP LOCKED): together they still publish every row exactly once.
    it("publishes each row once with two relays running at the same time", async () => {
      const ids = await insertEvents(services.database.db, "pair", 2000);
      const [a, b] = await Promise.all([
        startTestRelay({ batchSize: 50 }),
        startTestRelay({ batchSize: 50 }),
      ]);
      try {
        await waitFor(
          async () => (await unpublishedIds(services.database.db)).length === 0,
          "outbox drained",
          20_000,
        );
        const mine = () => listener.ids().filter((id) => id.startsWith("pair-"));
        await waitFor(() => mine().length >= ids.length, "every event delivered");
        await new Promise((r) => setTimeout(r, 300));
        const counts = countBy(mine());
        expect(counts.size).toBe(ids.length);
        expect([...counts.values()].every((n) => n === 1)).toBe(true);
        expect(a.relay.published() + b.relay.published()).toBe(ids.length);
        // both took part, so the test exercised concurrent claims
        expect(a.relay.published()).toBeGreaterThan(0);
        expect(b.relay.published()).toBeGreaterThan(0);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });

    // stop() lets the batch in flight finish: whatever went out is marked published, and no new
    // batch is claimed after it.
    it("stop() finishes the batch in flight and claims no more", async () => {
      await insertEvents(services.database.db, "drain", 3000);
      const started = await startTestRelay({ batchSize: 500 });
      try {
        await waitFor(
          () => listener.ids().some((id) => id.startsWith("drain-")),
          "first event delivered",
          10_000,
          1,
        );
        await started.relay.stop();
        const rows = await publishedRows("drain");
        const marked = rows.filter((row) => row.published_at !== null).length;
        expect(marked % 500).toBe(0);
        expect(marked).toBeGreaterThan(0);
        expect(marked).toBeLessThan(3000);
        await new Promise((r) => setTimeout(r, 300));
        const delivered = new Set(listener.ids().filter((id) => id.startsWith("drain-")));
        expect(delivered.size).toBe(marked);
      } finally {
        await started.stop();
      }
      // the rest is published by the next relay
      const next = await startTestRelay({ batchSize: 500 });
      try {
        await waitFor(
          async () => (await unpublishedIds(services.database.db)).length === 0,
          "outbox drained",
        );
      } finally {
        await next.stop();
      }
    });
  });

  // The lag is the age of the oldest unpublished row; both gauges fall to 0 once it is published.
  it("measures pending rows and lag, and the gauges follow", async () => {
    await insertEvents(services.database.db, "lag", 5);
    await sql`UPDATE billing.outbox SET created_at = now() - interval '30 seconds' WHERE event_id LIKE 'lag-%'`.execute(
      services.database.db,
    );
    const backlog = await measureOutbox(services.database.db);
    expect(backlog.pending).toBe(5);
    expect(backlog.lagSeconds).toBeGreaterThanOrEqual(30);
    expect(backlog.lagSeconds).toBeLessThan(60);

    const started = await startTestRelay({ lagSampleMs: 50 });
    try {
      await waitFor(async () => (await unpublishedIds(services.database.db)).length === 0, "outbox drained");
      await waitFor(
        async () => (await outboxPending.get()).values[0]?.value === 0,
        "pending gauge back to 0",
      );
      expect((await outboxLag.get()).values[0]?.value).toBe(0);
      expect(await measureOutbox(services.database.db)).toEqual({ pending: 0, lagSeconds: 0 });
    } finally {
      await started.stop();
    }
  });
});
