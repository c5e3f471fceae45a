import type { GetMessage } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { names } from "../../lib/amqp/topology.ts";
import { PermanentError, TransientError } from "../../lib/domain/errors.ts";
import {
  handlerDuration,
  messagesAcked,
  messagesConsumed,
  messagesDeadLettered,
  messagesDuplicate,
  messagesRetried,
} from "../../lib/metrics/registry.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  dlqCollector,
  metricValue,
  type RawClient,
  rawClient,
  startTestConsumer,
  type TestConsumer,
  webhook,
} from "./consumer-fixtures.ts";
import {
  createEffectsTable,
  effectAttempt,
  effectCounts,
  failing,
  recordEffect,
  type TestHandler,
} from "./test-appliers.ts";

// The consumer end to end on a real broker and database, with small test handlers: exactly one
// effect per message, the delayed-retry ladder (RETRY_DELAYS_MS "50,100"), the Contract's dead
// letters, and a shutdown that lets in-flight work commit and ack.

const ladder = [50, 100];
let database: TestDatabase;
let vhost: TestVhost;
let client: RawClient;
let running: TestConsumer;
let takeDeadLetter: ReturnType<typeof dlqCollector>;

// One consumer for the file; each test routes its messages to its own handler by message id.
const handlers = new Map<string, TestHandler>();
const dispatch: TestHandler = async (message, trx) => {
  const prefix = message.messageId.replace(/^evt_/, "").split("-")[0] ?? "";
  const handler = handlers.get(prefix) ?? recordEffect;
  await handler(message, trx);
};

beforeAll(async () => {
  database = await createTestDatabase();
  await createEffectsTable(database.db);
  vhost = testVhost();
  await vhost.create();
  running = await startTestConsumer(vhost.url, database.db, dispatch, { ladder });
  client = await rawClient(vhost.url);
  takeDeadLetter = dlqCollector(client);
});
afterAll(async () => {
  await client?.close();
  await running?.stop();
  await database?.drop();
  await vhost?.delete();
});

async function effects(id: string): Promise<number> {
  return (await effectCounts(database.db)).get(id) ?? 0;
}

function byId(id: string): (m: GetMessage) => boolean {
  return (m) => m.properties.messageId === id;
}

function headersOf(message: GetMessage): Record<string, unknown> {
  return message.properties.headers ?? {};
}

describe("exactly once", () => {
  // The same event delivered three times (Stripe retries, a replay, a reconcile) has one effect; the
  // copies are acked and counted as duplicates.
  it("applies the same message delivered 3 times once", async () => {
    const type = "dup.three";
    const before = await metricValue(messagesDuplicate, { type });
    const event = webhook("evt_dup-1", type);
    for (let i = 0; i < 3; i++) await client.publish("stripe.dup.three", event.body, event.options);
    await waitFor(
      async () => (await metricValue(messagesDuplicate, { type })) === before + 2,
      "two duplicates",
    );
    expect(await effects("evt_dup-1")).toBe(1);
    expect(await metricValue(messagesAcked, { type })).toBeGreaterThanOrEqual(3);
    expect(await metricValue(messagesConsumed, { type })).toBeGreaterThanOrEqual(3);
    expect(await metricValue(handlerDuration, { type, outcome: "duplicate" })).toBeGreaterThanOrEqual(2);
  });
});

describe("retries", () => {
  // A transient failure goes through the delayed ladder (a fresh copy with x-attempts + 1) and is
  // applied once it succeeds; the handler sees the attempt count.
  it("retries a TransientError through the ladder and applies it", async () => {
    const handler = failing(2, () => new TransientError("out_of_order", "subscription not seen yet"));
    handlers.set("early", handler);
    const event = webhook("evt_early-1", "retry.transient");
    await client.publish("stripe.retry.transient", event.body, event.options);
    await waitFor(async () => (await effects("evt_early-1")) === 1, "applied after two retries");
    expect(handler.calls("evt_early-1")).toBe(3);
    // the copy that succeeded carried x-attempts 2
    expect(await effectAttempt(database.db, "evt_early-1")).toBe(2);
    expect(await metricValue(messagesRetried, { type: "retry.transient", code: "out_of_order" })).toBe(2);
  });

  // An unknown throw (a bug, a library error) counts as transient until the ladder runs out.
  it("retries an unknown error like a transient one", async () => {
    const handler = failing(1, () => new Error("socket hang up"));
    handlers.set("unknown", handler);
    const event = webhook("evt_unknown-1");
    await client.publish("stripe.test.effect", event.body, event.options);
    await waitFor(async () => (await effects("evt_unknown-1")) === 1, "applied after a retry");
    expect(handler.calls("evt_unknown-1")).toBe(2);
  });

  // Past the ladder a message is parked as "exhausted", with our own attempt count.
  it("dead-letters as exhausted once the ladder is used up", async () => {
    const handler = failing(100, () => new TransientError("stripe_unavailable", "Stripe answered 503"));
    handlers.set("exhausted", handler);
    const event = webhook("evt_exhausted-1", "retry.exhausted");
    await client.publish("stripe.retry.exhausted", event.body, event.options);
    const letter = await takeDeadLetter("evt_exhausted-1", byId("evt_exhausted-1"));
    expect(handler.calls("evt_exhausted-1")).toBe(ladder.length + 1);
    expect(headersOf(letter)).toMatchObject({
      "x-error": "Stripe answered 503",
      "x-error-kind": "exhausted",
      "x-error-code": "stripe_unavailable",
      "x-attempts": ladder.length,
      "x-routing-key": "stripe.retry.exhausted",
    });
    // the original routing key, not the retry queue's
    expect(letter.fields.routingKey).toBe("stripe.retry.exhausted");
    expect(await effects("evt_exhausted-1")).toBe(0);
    expect(
      await metricValue(messagesDeadLettered, {
        type: "retry.exhausted",
        code: "stripe_unavailable",
        kind: "exhausted",
      }),
    ).toBe(1);
  });
});

describe("dead letters", () => {
  // A permanent error is parked at once (no retry) with the Contract's headers, the original body,
  // properties and routing key, so ops can read it and replay it as it was.
  it("dead-letters a PermanentError at once with x-error, x-error-kind, x-attempts, x-failed-at", async () => {
    const handler = failing(100, () => new PermanentError("unknown_account", "no account acc_404"));
    handlers.set("perm", handler);
    const event = webhook("evt_perm-1", "test.permanent");
    const before = Date.now();
    await client.publish("stripe.test.permanent", event.body, {
      ...event.options,
      correlationId: "corr-1",
    });
    const letter = await takeDeadLetter("evt_perm-1", byId("evt_perm-1"));
    expect(handler.calls("evt_perm-1")).toBe(1);
    const headers = headersOf(letter);
    expect(headers).toMatchObject({
      "x-source": "stripe",
      "x-error": "no account acc_404",
      "x-error-kind": "permanent",
      "x-error-code": "unknown_account",
      "x-attempts": 0,
    });
    const failedAt = Date.parse(String(headers["x-failed-at"]));
    expect(String(headers["x-failed-at"])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(failedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(letter.content.toString()).toBe(event.body);
    expect(letter.fields).toMatchObject({
      exchange: names.dlx,
      routingKey: "stripe.test.permanent",
    });
    expect(letter.properties).toMatchObject({
      messageId: "evt_perm-1",
      type: "test.permanent",
      contentType: "application/json",
      correlationId: "corr-1",
      deliveryMode: 2,
    });
    expect(await effects("evt_perm-1")).toBe(0);
  });

  // A message that can never be applied as it is goes straight to the DLQ; no handler runs.
  it("dead-letters a message without messageId and one with an unparseable body as permanent", async () => {
    const handler = failing(0, () => undefined);
    handlers.set("garbage", handler);
    await client.publish("stripe.invoice.paid", '{"marker":"no-id"}', { type: "invoice.paid" });
    await client.publish("stripe.invoice.paid", "{not json", {
      messageId: "evt_garbage-1",
      type: "invoice.paid",
    });
    const noId = await takeDeadLetter("without id", (m) => m.content.toString() === '{"marker":"no-id"}');
    const unparseable = await takeDeadLetter("unparseable", byId("evt_garbage-1"));
    expect(headersOf(noId)).toMatchObject({ "x-error-kind": "permanent", "x-error-code": "invalid_message" });
    expect(headersOf(unparseable)).toMatchObject({
      "x-error-kind": "permanent",
      "x-error-code": "invalid_event",
    });
    expect(headersOf(noId)["x-error"]).toMatch(/no messageId/);
    expect(headersOf(unparseable)["x-error"]).toMatch(/not a Stripe event: body is not UTF-8 JSON/);
    expect(handler.calls("evt_garbage-1")).toBe(0);
  });
});

describe("shutdown", () => {
  // stop() stops taking messages but lets the one in flight commit and ack: its effect is there
  // and it is not redelivered to anyone.
  it("finishes in-flight work before closing", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    handlers.set("slow", async (message, trx) => {
      started = true;
      await gate;
      await recordEffect(message, trx);
    });
    const event = webhook("evt_slow-1");
    await client.publish("stripe.test.effect", event.body, event.options);
    await waitFor(() => started, "the slow message in flight");
    expect(running.consumer.inFlight()).toBe(1);

    const stopping = running.consumer.stop(3000);
    setTimeout(release, 200);
    await stopping;
    expect(running.consumer.isReady()).toBe(false);
    expect(running.consumer.inFlight()).toBe(0);
    expect(await effects("evt_slow-1")).toBe(1);
    expect(running.consumer.outcomes().abandoned).toBe(0);
    // acked, so nothing is left for the next worker
    expect(await client.messageCount(names.queue)).toBe(0);

    // and messages published after the stop wait in the queue for another worker
    const later = webhook("evt_later-1");
    await client.publish("stripe.test.effect", later.body, later.options);
    await new Promise((r) => setTimeout(r, 200));
    expect(await client.messageCount(names.queue)).toBe(1);
    expect(await effects("evt_later-1")).toBe(0);
  });
});
