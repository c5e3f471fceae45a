import { sql } from "kysely";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerUserOf } from "../../lib/amqp/broker-url.ts";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { stripeEventMessage } from "../../lib/amqp/stripe-event-message.ts";
import { names } from "../../lib/amqp/topology.ts";
import { commandMessage } from "../../lib/client/command-message.ts";
import type { Command } from "../../lib/domain/commands.ts";
import type { Running } from "../../lib/lifecycle.ts";
import { type BrokerSession, openBrokerSession } from "../../lib/ops/broker-session.ts";
import {
  type StripeEmulator,
  type StripeEvent,
  startStripeEmulator,
} from "../../ops/stripe-emulator/server.ts";
import { startWorker } from "../../workers/worker.ts";
import { testConfig, testLogger } from "../helpers/config.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";
import { stripeClient } from "../stripe-emulator/helpers.ts";
import { runOps } from "./run-cli.ts";

// The ops console against the real fleet: the worker (consumer, handlers, DLQ archiver) on a real
// broker and database, the Stripe emulator as Stripe. What fails is parked where ops see it within
// seconds; once the cause is fixed a replay applies it exactly once; reconcile recovers what the
// ingester never enqueued. The ingester itself is played by publishing as it would (confirmed).

const retryDelaysMs = "100";
let database: TestDatabase;
let vhost: TestVhost;
let emulator: StripeEmulator;
let stripe: Stripe;
let worker: Running;
let broker: BrokerSession;
let env: Record<string, string>;
const delivered = new Set<string>();

beforeAll(async () => {
  database = await createTestDatabase();
  vhost = testVhost();
  await vhost.create();
  await declareTopologyOnce(vhost.url, [Number(retryDelaysMs)]);
  // No webhook URL: the ingester is "down" for everything this file does not publish itself.
  emulator = await startStripeEmulator();
  stripe = stripeClient(emulator);
  const workerEnv = { STRIPE_API_URL: emulator.url, RETRY_DELAYS_MS: retryDelaysMs, WORKER_PREFETCH: "1" };
  worker = await startWorker(
    testConfig("worker", { databaseUrl: database.url, amqpUrl: vhost.url, ...workerEnv }),
    testLogger("worker"),
  );
  broker = await openBrokerSession(vhost.url, { confirmTimeoutMs: 5000 });
  env = {
    DATABASE_URL: database.url,
    AMQP_URL: vhost.url,
    RETRY_DELAYS_MS: retryDelaysMs,
    STRIPE_SECRET_KEY: "sk_test_ops",
    STRIPE_API_URL: emulator.url,
  };
});
afterAll(async () => {
  await broker?.close();
  await worker?.stop();
  await emulator?.close();
  await database?.drop();
  await vhost?.delete();
});

/** Publishes a Stripe event exactly as the ingester does (the Contract's webhook message). */
async function deliverWebhook(event: StripeEvent): Promise<void> {
  const message = stripeEventMessage({
    eventId: event.id,
    eventType: event.type,
    source: "stripe",
    userId: brokerUserOf(vhost.url),
  });
  await broker.publishConfirmed(
    names.exchange,
    message.routingKey,
    Buffer.from(JSON.stringify(event)),
    message.options,
  );
  delivered.add(event.id);
}

/** Delivers every emulator event not delivered yet, oldest first. */
async function deliverNewEvents(): Promise<StripeEvent[]> {
  const fresh = emulator.events().filter((event) => !delivered.has(event.id));
  for (const event of fresh) await deliverWebhook(event);
  return fresh;
}

async function sendCommand(command: Record<string, unknown>): Promise<void> {
  const message = commandMessage(command as unknown as Command, "orders");
  await broker.publishConfirmed(names.exchange, message.routingKey, message.content, message.options);
}

const balance = async (accountId: string) =>
  (
    await database.db
      .selectFrom("accounts")
      .select("balance")
      .where("account_id", "=", accountId)
      .where("currency", "=", "usd")
      .executeTakeFirst()
  )?.balance;

const parkedLetter = async (messageId: string) =>
  database.db
    .selectFrom("dead_letters")
    .selectAll()
    .where("message_id", "=", messageId)
    .where("status", "=", "parked")
    .executeTakeFirst();

const count = async (query: ReturnType<typeof sql<{ n: number }>>) =>
  (await query.execute(database.db)).rows[0]?.n;

/** With prefetch 1 the worker takes messages in order: once this event is applied, all before it were. */
async function settle(): Promise<void> {
  const customer = await stripe.customers.create({ metadata: { sentinel: "yes" } });
  const sentinel = emulator
    .events()
    .find((event) => event.type === "customer.created" && event.data.object.id === customer.id);
  if (sentinel === undefined) throw new Error("the emulator emitted no customer.created");
  // Only the sentinel: the other undelivered events are what reconcile must find.
  await deliverWebhook(sentinel);
  await waitFor(
    async () =>
      (await database.db
        .selectFrom("stripe_events")
        .select("event_id")
        .where("event_id", "=", sentinel.id)
        .executeTakeFirst()) !== undefined,
    "the sentinel event applied",
  );
}

describe("dead letters from the real worker", () => {
  it("parks a poison event and a failed command within seconds; after the fix, replay applies each once", async () => {
    // A 1000 deposit credited, then 800 charged: 200 left.
    const deposit = await stripe.paymentIntents.create({
      amount: 1000,
      currency: "usd",
      confirm: true,
      metadata: { account_id: "acc_fleet" },
    });
    await deliverNewEvents();
    await waitFor(async () => (await balance("acc_fleet")) === 1000, "deposit credited");
    await sendCommand({
      id: "cmd_charge",
      type: "balance.charge",
      accountId: "acc_fleet",
      amount: 800,
      currency: "usd",
      reason: "usage",
    });
    await waitFor(async () => (await balance("acc_fleet")) === 200, "charge debited");

    // Poison: refunding the whole deposit would take the balance below zero: permanent.
    await stripe.refunds.create({ payment_intent: deposit.id });
    const refunded = (await deliverNewEvents()).find((event) => event.type === "charge.refunded");
    expect(refunded).toBeDefined();
    const refundId = refunded?.id ?? "";
    // A command while Stripe is down: retried, then dead-lettered as exhausted.
    emulator.setFaults({ failRate: 1, failRateStatus: 500 });
    await sendCommand({
      id: "cmd_deposit",
      type: "deposit.create",
      accountId: "acc_fleet",
      amount: 1000,
      currency: "usd",
    });
    // A command that can never apply as it is.
    await sendCommand({
      id: "cmd_invalid",
      type: "balance.charge",
      accountId: "acc_fleet",
      currency: "usd",
      reason: "x",
    });

    const started = Date.now();
    await waitFor(
      async () =>
        (await parkedLetter(refundId)) !== undefined &&
        (await parkedLetter("cmd_deposit")) !== undefined &&
        (await parkedLetter("cmd_invalid")) !== undefined,
      "three dead letters parked",
      20_000,
    );
    expect(Date.now() - started).toBeLessThan(15_000);

    const stats = (await runOps(["dlq", "stats", "--json"], env)).json<{
      total: number;
      groups: Record<string, unknown>[];
    }>();
    expect(stats.total).toBe(3);
    expect(stats.groups).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: "charge.refunded",
          errorKind: "permanent",
          count: 1,
          error: expect.stringMatching(/below zero/),
        }),
        expect.objectContaining({ type: "deposit.create", errorKind: "exhausted", count: 1 }),
        expect.objectContaining({
          type: "balance.charge",
          errorKind: "permanent",
          error: expect.stringMatching(/invalid command/),
        }),
      ]),
    );
    const list = (await runOps(["dlq", "list", "--json"], env)).json<{
      letters: { id: number; messageId: string }[];
    }>();
    const idOf = (messageId: string) => list.letters.find((l) => l.messageId === messageId)?.id ?? 0;
    expect(list.letters.map((l) => l.messageId).sort()).toEqual(
      [refundId, "cmd_deposit", "cmd_invalid"].sort(),
    );

    // --dry-run changes nothing.
    const before = await database.db.selectFrom("dead_letters").selectAll().orderBy("id").execute();
    const dry = await runOps(["dlq", "replay", "--all", "--dry-run"], env);
    expect(dry.code).toBe(0);
    expect(await database.db.selectFrom("dead_letters").selectAll().orderBy("id").execute()).toEqual(before);

    // Fix the causes: Stripe is back, and the account gets a second deposit of 1000 (balance 1200).
    emulator.setFaults({});
    await stripe.paymentIntents.create({
      amount: 1000,
      currency: "usd",
      confirm: true,
      metadata: { account_id: "acc_fleet" },
    });
    await deliverNewEvents();
    await waitFor(async () => (await balance("acc_fleet")) === 1200, "second deposit credited");

    const replay = await runOps(
      [
        "dlq",
        "replay",
        "--id",
        String(idOf(refundId)),
        "--id",
        String(idOf("cmd_deposit")),
        "--by",
        "oncall",
      ],
      env,
    );
    expect(replay.code, replay.out + replay.err).toBe(0);
    await waitFor(async () => (await balance("acc_fleet")) === 200, "refund debited after the replay");
    await waitFor(
      async () =>
        (
          await database.db
            .selectFrom("commands")
            .select("status")
            .where("command_id", "=", "cmd_deposit")
            .executeTakeFirst()
        )?.status === "succeeded",
      "the deposit command succeeded after the replay",
    );

    // Exactly once: replaying again publishes nothing; the same webhook again is absorbed.
    const again = await runOps(
      ["dlq", "replay", "--id", String(idOf(refundId)), "--id", String(idOf("cmd_deposit")), "--json"],
      env,
    );
    expect(again.json()).toMatchObject({ replayed: [] });
    await deliverWebhook(refunded as StripeEvent);
    await settle();
    expect(await balance("acc_fleet")).toBe(200);
    expect(
      await count(
        sql<{ n: number }>`SELECT count(*)::int AS n FROM billing.ledger_entries WHERE kind = 'refund_debit'`,
      ),
    ).toBe(1);
    const created = emulator
      .requests()
      .filter(
        (r) => r.method === "POST" && r.path === "/v1/payment_intents" && r.status === 200 && !r.replayed,
      )
      .filter((r) => (r.idempotencyKey ?? "").includes("cmd_deposit"));
    expect(created).toHaveLength(1);
    expect((await runOps(["dlq", "stats", "--json"], env)).json()).toMatchObject({ total: 1 });

    // The invalid command would fail again: it is purged, and stays for audit.
    expect((await runOps(["dlq", "purge", "--id", String(idOf("cmd_invalid")), "--yes"], env)).code).toBe(0);
    expect((await runOps(["dlq", "stats", "--json"], env)).json()).toMatchObject({ total: 0 });
  });
});

describe("reconcile against the real worker", () => {
  it("enqueues exactly the events the ingester never delivered, and the fleet applies them", async () => {
    // While the "ingester is down": deposits whose events nobody delivers.
    for (const amount of [300, 500]) {
      await stripe.paymentIntents.create({
        amount,
        currency: "usd",
        confirm: true,
        metadata: { account_id: "acc_rec" },
      });
    }
    await settle();
    const applied = new Set(
      (await database.db.selectFrom("stripe_events").select("event_id").execute()).map((r) => r.event_id),
    );
    const missing = emulator
      .events()
      .map((event) => event.id)
      .filter((id) => !applied.has(id));
    // the deposits above, and the PaymentIntent the replayed deposit.create command made
    expect(missing.length).toBeGreaterThanOrEqual(6);

    const run = await runOps(["reconcile", "--since", "1h", "--json"], env);
    expect(run.code, run.err).toBe(0);
    const result = run.json<{
      listed: number;
      alreadyApplied: number;
      enqueued: number;
      enqueuedIds: string[];
    }>();
    expect([...result.enqueuedIds].sort()).toEqual([...missing].sort());
    expect(result.listed).toBe(emulator.events().length);
    expect(result.alreadyApplied).toBe(result.listed - missing.length);

    await waitFor(async () => (await balance("acc_rec")) === 800, "the reconciled deposits credited");
    // The deposit.create command's own PaymentIntent succeeded at Stripe: now credited too.
    await waitFor(async () => (await balance("acc_fleet")) === 1200, "the command's deposit credited");
    await settle();
    const audited = new Set(
      (await database.db.selectFrom("stripe_events").select("event_id").execute()).map((r) => r.event_id),
    );
    expect(emulator.events().every((event) => audited.has(event.id))).toBe(true);

    // Nothing left to reconcile.
    const second = await runOps(["reconcile", "--since", "1h", "--json"], env);
    expect(second.json()).toMatchObject({ enqueued: 0 });
  });
});
