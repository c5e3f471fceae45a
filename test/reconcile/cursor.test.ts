import amqplib from "amqplib";
import { sql } from "kysely";
import type Stripe from "stripe";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { defaults } from "../../lib/config.ts";
import { createLeaderLock, type LeaderLock } from "../../lib/reconcile/leader-lock.ts";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";
import { startReconcilerProcess } from "../../workers/reconciler.ts";
import { testConfig, testLogger } from "../helpers/config.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { waitFor } from "../helpers/wait.ts";
import { drainQueue } from "../ops/queue-reader.ts";
import { stripeClient } from "../stripe-emulator/helpers.ts";
import type { StartedReconciler } from "./helpers.ts";

// The cursor moves only after the broker confirmed every event a pass enqueued: a pass whose
// publishes fail (or whose Stripe key is refused) leaves it where it was, and the next pass lists
// the same events again. The lock that fences it is held by one session at a time, and a lost
// session is noticed and reported.

const services = useTestServices();
let emulator: StripeEmulator;
let stripe: Stripe;
let running: StartedReconciler | undefined;
const log = testLogger("cursor");

beforeAll(async () => {
  await declareTopologyOnce(services.vhost.url, defaults.RETRY_DELAYS_MS.split(",").map(Number));
  // No webhook URL: nothing but the reconciler brings these events to billing_queue.
  emulator = await startStripeEmulator();
  stripe = stripeClient(emulator);
  for (let i = 0; i < 3; i++) await stripe.customers.create({ metadata: { n: String(i) } });
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
});
afterAll(() => emulator.close());

const start = (extra: Record<string, string> = {}) =>
  startReconcilerProcess(
    testConfig("reconciler", {
      databaseUrl: services.database.url,
      amqpUrl: services.vhost.url,
      STRIPE_API_URL: emulator.url,
      RECONCILE_INTERVAL_S: "1",
      ...extra,
    }),
    log,
    { timeoutMs: 500, patientBackoff: { baseMs: 20, maxMs: 200 } },
  );
const cursorRow = () =>
  services.database.db
    .selectFrom("reconcile_cursor")
    .selectAll()
    .where("stream", "=", "stripe-events")
    .executeTakeFirst();
const failures = () => running?.reconciler.outcomes().filter((o) => o.kind === "failed") ?? [];

async function withChannel(use: (channel: amqplib.Channel) => Promise<unknown>): Promise<void> {
  const connection = await amqplib.connect(services.vhost.url);
  try {
    await use(await connection.createChannel());
  } finally {
    await connection.close();
  }
}

describe("the cursor", () => {
  it("stays put while publishes are not confirmed, and advances once they are", async () => {
    running = await start();
    await waitFor(async () => (await cursorRow())?.last_success_at != null, "a first pass", 10_000);
    // Unroutable from now on: the broker returns every stripe.* publish, so none is confirmed.
    await withChannel((ch) => ch.unbindQueue("billing_queue", "billing", "stripe.#"));
    await waitFor(() => failures().length >= 1, "a failed pass", 10_000);
    // Passes run one after the other: after a failed one, nothing can succeed while unbound.
    const first = await cursorRow();
    expect(first?.cursor_created).toBe(Math.max(...emulator.events().map((e) => e.created)));
    await new Promise((resolve) => setTimeout(resolve, 1100 - (Date.now() % 1000)));
    await stripe.customers.create({ metadata: { n: "late" } });
    const newest = Math.max(...emulator.events().map((e) => e.created));
    expect(newest).toBeGreaterThan(first?.cursor_created ?? 0);
    await waitFor(() => failures().length >= 3, "two more failed passes", 10_000);
    expect(failures()[0]).toMatchObject({ reason: expect.stringMatching(/no queue is bound/) });
    const during = await cursorRow();
    expect(during?.cursor_created).toBe(first?.cursor_created);
    expect(during?.last_success_at?.getTime()).toBe(first?.last_success_at?.getTime());
    expect(during?.last_pass_started_at?.getTime()).toBeGreaterThan(first?.last_success_at?.getTime() ?? 0);

    await withChannel((ch) => ch.bindQueue("billing_queue", "billing", "stripe.#"));
    await waitFor(async () => (await cursorRow())?.cursor_created === newest, "the cursor advanced", 10_000);
    // every event is on the queue (more than once is fine: nothing applies them in this test)
    const ids = new Set(
      (await drainQueue(services.vhost.url, "billing_queue")).map((m) => m.properties.messageId),
    );
    expect([...ids].sort()).toEqual(
      emulator
        .events()
        .map((e) => e.id)
        .sort(),
    );
  });

  it("stays put, with the reason logged, when Stripe refuses the key", async () => {
    const before = await cursorRow();
    const strict = await startStripeEmulator({ apiKey: "sk_test_the_only_key" });
    try {
      running = await startReconcilerProcess(
        testConfig("reconciler", {
          databaseUrl: services.database.url,
          amqpUrl: services.vhost.url,
          STRIPE_API_URL: strict.url,
          RECONCILE_INTERVAL_S: "1",
        }),
        log,
        { timeoutMs: 500 },
      );
      await waitFor(() => failures().length >= 2, "two failed passes", 10_000);
      expect(failures()[0]).toMatchObject({ reason: expect.stringMatching(/Invalid API Key/) });
      const after = await cursorRow();
      expect(after?.cursor_created).toBe(before?.cursor_created);
      expect(after?.last_success_at?.getTime()).toBe(before?.last_success_at?.getTime());
    } finally {
      await running?.stop();
      running = undefined;
      await strict.close();
    }
  });
});

describe("the leader lock", () => {
  const locks: LeaderLock[] = [];
  const lock = () => {
    const created = createLeaderLock({
      url: services.database.url,
      name: "test-lock",
      db: services.database.db,
      log,
      applicationName: "billing-test-lock",
    });
    locks.push(created);
    return created;
  };
  afterEach(async () => {
    await Promise.all(locks.splice(0).map((l) => l.release()));
  });

  it("is held by one session at a time, and freed on release", async () => {
    const [a, b] = [lock(), lock()];
    expect(await a.tryAcquire()).toBe(true);
    expect(await a.tryAcquire()).toBe(true);
    expect(await b.tryAcquire()).toBe(false);
    expect(b.held()).toBe(false);
    await a.release();
    expect(a.held()).toBe(false);
    expect(await b.tryAcquire()).toBe(true);
    await expect(a.run(sql`SELECT 1`.compile(services.database.db))).rejects.toThrow(/not open/);
  });

  it("reports a lost session once, refuses to run on it, and can be taken again", async () => {
    const a = lock();
    const lost: string[] = [];
    a.onLost((reason) => lost.push(reason));
    expect(await a.tryAcquire()).toBe(true);
    await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'billing-test-lock'`.execute(
      services.database.db,
    );
    await waitFor(() => !a.held(), "the loss noticed", 5000);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/terminat|closed|connection/i);
    await expect(a.run(sql`SELECT 1`.compile(services.database.db))).rejects.toThrow();
    // the old session is gone, so the lock is free again
    expect(await a.tryAcquire()).toBe(true);
  });

  it("says false, without throwing, when the database cannot be reached", async () => {
    const nowhere = createLeaderLock({
      url: "postgres://root@127.0.0.1:9/nowhere",
      name: "test-lock",
      db: services.database.db,
      log,
    });
    expect(await nowhere.tryAcquire()).toBe(false);
    await nowhere.release();
  });
});
