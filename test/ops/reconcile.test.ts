import type Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { defaults } from "../../lib/config.ts";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";
import { testSecrets } from "../helpers/config.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { stripeClient } from "../stripe-emulator/helpers.ts";
import { insertDeadLetter } from "./dead-letter-fixtures.ts";
import { drainQueue } from "./queue-reader.ts";
import { runOps } from "./run-cli.ts";

// reconcile finds what the ingester never enqueued: every listed event not applied (stripe_events
// or inbox) and not parked is published exactly as a webhook message would be, and nothing else.

let database: TestDatabase;
let vhost: TestVhost;
let emulator: StripeEmulator;
let stripe: Stripe;
let env: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  vhost = testVhost();
  await vhost.create();
  await declareTopologyOnce(vhost.url, defaults.RETRY_DELAYS_MS.split(",").map(Number));
  // No webhook URL: the ingester is "down", events are only recorded.
  emulator = await startStripeEmulator({ apiKey: testSecrets.stripeKey });
  stripe = stripeClient(emulator, testSecrets.stripeKey);
  env = {
    DATABASE_URL: database.url,
    AMQP_URL: vhost.url,
    STRIPE_SECRET_KEY: testSecrets.stripeKey,
    STRIPE_API_URL: emulator.url,
  };
  // 40 confirmed PaymentIntents make 120 events: more than one page of 100.
  for (let i = 0; i < 40; i += 1) {
    await stripe.paymentIntents.create({ amount: 100 + i, currency: "usd", confirm: true });
  }
});
afterAll(async () => {
  await emulator.close();
  await database.drop();
  await vhost.delete();
});
beforeEach(async () => {
  await drainQueue(vhost.url, "billing_queue");
});

describe("reconcile", () => {
  it("enqueues exactly the events never applied, as webhook messages, across pages", async () => {
    const events = emulator.events();
    expect(events).toHaveLength(120);
    const [applied, inboxOnly, parked] = [events.slice(0, 50), events.slice(50, 55), events[60]];
    for (const event of applied) {
      await database.db
        .insertInto("stripe_events")
        .values({
          event_id: event.id,
          type: event.type,
          event_created: event.created,
          payload: JSON.stringify(event),
        })
        .execute();
    }
    for (const event of inboxOnly)
      await database.db
        .insertInto("processed_messages")
        .values({ message_id: `stripe:${event.id}` })
        .execute();
    await insertDeadLetter(database.db, { messageId: parked?.id ?? "", type: parked?.type ?? "" });
    const known = new Set([...applied, ...inboxOnly, parked].map((e) => e?.id));
    const missing = events.filter((event) => !known.has(event.id));

    const dry = await runOps(["reconcile", "--since", "1h", "--dry-run", "--json"], env);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.json()).toMatchObject({
      dryRun: true,
      listed: 120,
      alreadyApplied: 55,
      parked: 1,
      enqueued: 64,
    });
    expect(await drainQueue(vhost.url, "billing_queue")).toHaveLength(0);

    const run = await runOps(["reconcile", "--since", "1h", "--json"], env);
    expect(run.code, run.err).toBe(0);
    const result = run.json<{ enqueuedIds: string[] }>();
    expect(result).toMatchObject({ dryRun: false, listed: 120, alreadyApplied: 55, parked: 1, enqueued: 64 });
    expect([...result.enqueuedIds].sort()).toEqual(missing.map((e) => e.id).sort());

    const messages = await drainQueue(vhost.url, "billing_queue");
    expect(messages.map((m) => m.properties.messageId).sort()).toEqual(missing.map((e) => e.id).sort());
    const byId = new Map(events.map((event) => [event.id, event]));
    for (const message of messages) {
      const event = byId.get(message.properties.messageId as string);
      expect(message.fields.exchange).toBe("billing");
      expect(message.fields.routingKey).toBe(`stripe.${event?.type}`);
      expect(message.properties).toMatchObject({
        type: event?.type,
        contentType: "application/json",
        deliveryMode: 2,
      });
      expect(message.properties.headers?.["x-source"]).toBe("reconcile");
      expect(JSON.parse(message.content.toString())).toEqual(event);
    }

    // a one-off pass for a chosen window: the reconciler process's cursor is neither read nor moved
    expect(await database.db.selectFrom("reconcile_cursor").selectAll().execute()).toEqual([]);

    const human = await runOps(["reconcile", "--since", "1h", "--dry-run"], env);
    expect(human.out).toMatch(/^listed 120 events created since \S+ \(1h\)\nalready applied: 55\n/);
    expect(human.out).toContain("parked dead letters (skipped, see dlq list): 1");
    expect(human.out).toContain("would enqueue: 64 (dry run: nothing published)");
  });

  it("lists nothing older than --since", async () => {
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const run = await runOps(["reconcile", "--since", "1s", "--json"], env);
    expect(run.json()).toMatchObject({ listed: 0, enqueued: 0 });
  });

  it.each([
    [[], 2, /needs --since DURATION/],
    [["--since", "soon"], 2, /--since: "soon" is not a duration/],
  ])("refuses %j", async (args, code, message) => {
    const run = await runOps(["reconcile", ...args], env);
    expect(run.code).toBe(code);
    expect(run.err).toMatch(message);
  });

  // Without a working key it fails with one line, never a stack trace.
  it("fails with one line without a key or with a wrong one", async () => {
    const noKey = await runOps(["reconcile", "--since", "1h"], { ...env, STRIPE_SECRET_KEY: undefined });
    expect(noKey.code).toBe(1);
    expect(noKey.err).toBe(
      "billing-ops reconcile: STRIPE_SECRET_KEY is not set: reconcile lists events from the Stripe API\n",
    );
    const wrongKey = await runOps(["reconcile", "--since", "1h", "--json"], {
      ...env,
      STRIPE_SECRET_KEY: "sk_test_wrong",
    });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.err.trim().split("\n")).toHaveLength(1);
    expect(wrongKey.json()).toMatchObject({ ok: false });
  });
});
