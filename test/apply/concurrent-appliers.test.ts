import Stripe from "stripe";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RawMessage } from "../../lib/amqp/inbound-message.ts";
import { createDb, type Db } from "../../lib/db/database.ts";
import { TransientError } from "../../lib/domain/errors.ts";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";
import { mulberry32, shuffled } from "../domain/random.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { balanceDrift, balances, outboxCounts, rowCount } from "./billing-state.ts";
import { type Applier, applier, stripeMessage } from "./stripe-messages.ts";

// The acceptance run for the handler side: ~1000 Stripe events, 10% of them duplicates, in
// shuffled order, applied by two appliers on two pools at once (each with several in flight, as a
// worker with prefetch does). The events come from the Stripe emulator driven by the real stripe
// package, so their shapes and interleavings are the real ones.

type Json = Record<string, unknown>;
const seed = 20_251_104;

let emulator: StripeEmulator;
let shuffledDb: TestDatabase;
let inOrderDb: TestDatabase;
let pools: Db[] = [];
let events: Json[] = [];

beforeAll(async () => {
  [shuffledDb, inOrderDb] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  emulator = await startStripeEmulator();
  events = await generateHistory(emulator, mulberry32(seed));
});
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.destroy()));
  await emulator?.close();
  await shuffledDb?.drop();
  await inOrderDb?.drop();
});

/** Deposits (some declined), partial and full refunds, subscriptions that renew, fail or cancel. */
async function generateHistory(target: StripeEmulator, random: () => number): Promise<Json[]> {
  const url = new URL(target.url);
  const stripe = new Stripe("sk_test_handlers", {
    host: url.hostname,
    port: Number(url.port),
    protocol: "http",
    maxNetworkRetries: 0,
  });
  const control = (path: string) => fetch(`${target.url}/_emulator/${path}`, { method: "POST" });
  for (let a = 0; a < 40; a++) {
    const accountId = `acct-${a}`;
    const customer = await stripe.customers.create({
      email: `${accountId}@example.com`,
      metadata: { account_id: accountId },
    });
    for (let d = 0; d < 5; d++) {
      const declined = random() < 0.1;
      const request = {
        amount: 500 + Math.floor(random() * 5000),
        currency: d % 3 === 2 ? "eur" : "usd",
        customer: customer.id,
        metadata: { account_id: accountId, purpose: "deposit" },
        confirm: true,
        payment_method: declined ? "pm_card_chargeDeclined" : "pm_card_visa",
      };
      const paymentIntent = await stripe.paymentIntents.create(request).catch((error: unknown) => {
        if (declined && error instanceof Stripe.errors.StripeCardError) return null;
        throw error;
      });
      if (paymentIntent === null || random() >= 0.35) continue;
      await stripe.refunds.create({
        payment_intent: paymentIntent.id,
        amount: Math.floor(request.amount / 3),
      });
      if (random() < 0.5) await stripe.refunds.create({ payment_intent: paymentIntent.id });
    }
    if (a % 3 !== 0) continue;
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: "price_pro_2500" }],
      metadata: { account_id: accountId },
    });
    if (a % 2 === 0) {
      await stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
      await control(`subscriptions/${subscription.id}/renew`);
    } else {
      await control(`subscriptions/${subscription.id}/fail_payment`);
      await control(`subscriptions/${subscription.id}/renew`);
    }
  }
  return target.events() as unknown as Json[];
}

/** What the ledger must hold, computed from the events alone: credits minus max(cumulative refunds). */
function expectedBalances(history: readonly Json[]): Record<string, number> {
  const credited = new Map<string, { key: string; amount: number }>();
  const refunded = new Map<string, number>();
  for (const event of history) {
    const object = (event.data as { object: Json }).object;
    if (event.type === "payment_intent.succeeded") {
      const accountId = (object.metadata as Json).account_id;
      credited.set(String(object.id), {
        key: `${accountId}:${object.currency}`,
        amount: Number(object.amount_received),
      });
    }
    if (event.type === "charge.refunded") {
      const pi = String(object.payment_intent);
      refunded.set(pi, Math.max(refunded.get(pi) ?? 0, Number(object.amount_refunded)));
    }
  }
  const expected: Record<string, number> = {};
  for (const [pi, { key, amount }] of credited)
    expected[key] = (expected[key] ?? 0) + amount - (refunded.get(pi) ?? 0);
  return expected;
}

interface DrainResult {
  applied: Map<string, number>;
  duplicates: number;
  transient: number;
}

/**
 * Competing appliers on one shared queue, `lanes` in flight each. A transient error goes back to
 * the end of the queue (the delayed ladder, shortened); anything else fails the run.
 */
async function drain(queue: RawMessage[], appliers: Applier[], lanes: number): Promise<DrainResult> {
  const result: DrainResult = { applied: new Map(), duplicates: 0, transient: 0 };
  let inFlight = 0;
  const lane = async (target: Applier) => {
    for (;;) {
      const message = queue.shift();
      if (message === undefined) {
        if (inFlight === 0) return;
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      inFlight += 1;
      try {
        const outcome = await target.apply(message);
        if (outcome === "duplicate") result.duplicates += 1;
        else
          result.applied.set(
            String(message.messageId),
            (result.applied.get(String(message.messageId)) ?? 0) + 1,
          );
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
        result.transient += 1;
        await new Promise((r) => setTimeout(r, 2));
        queue.push(message);
      } finally {
        inFlight -= 1;
      }
    }
  };
  await Promise.all(appliers.flatMap((target) => Array.from({ length: lanes }, () => lane(target))));
  return result;
}

/** Entity tables without timestamps, keyed, for comparing two databases. */
async function entityState(db: Db) {
  const strip = <T extends { created_at?: unknown; updated_at?: unknown }>(rows: T[]) =>
    rows.map(({ created_at: _c, updated_at: _u, ...rest }) => rest);
  return {
    payments: strip(await db.selectFrom("payments").selectAll().orderBy("payment_intent_id").execute()),
    subscriptions: strip(
      await db.selectFrom("subscriptions").selectAll().orderBy("subscription_id").execute(),
    ),
    invoices: strip(await db.selectFrom("invoices").selectAll().orderBy("invoice_id").execute()),
    customers: strip(await db.selectFrom("customers").selectAll().orderBy("customer_id").execute()),
    balances: await balances(db),
    credits: await db
      .selectFrom("ledger_entries")
      .select(["account_id", "currency", "amount", "source_id"])
      .where("kind", "=", "deposit_credit")
      .orderBy("source_id")
      .execute(),
  };
}

/** Outbox event ids of the types whose set does not depend on arrival order. */
async function orderFreeEventIds(db: Db): Promise<string[]> {
  // subscription.updated is one per APPLIED snapshot and balance.debited one per cumulative step
  // debited: both legitimately depend on arrival order (their totals do not)
  const rows = await db
    .selectFrom("outbox")
    .select("event_id")
    .where("type", "not in", ["subscription.updated", "balance.debited"])
    .orderBy("event_id")
    .execute();
  return rows.map((r) => r.event_id);
}

it("applies 1000 shuffled events with 10% duplicates across 2 appliers, every effect once", async () => {
  const random = mulberry32(seed + 1);
  const unique = events.length;
  expect(unique).toBeGreaterThanOrEqual(850);
  const duplicateCount = Math.ceil(unique / 9);
  const duplicates = Array.from(
    { length: duplicateCount },
    () => events[Math.floor(random() * unique)] as Json,
  );
  const delivered = shuffled([...events, ...duplicates], random).map((event) => stripeMessage(event));
  expect(delivered.length).toBeGreaterThanOrEqual(950);

  // two workers: two pools on the same database, four messages in flight each
  pools = [0, 1].map((n) => createDb({ url: shuffledDb.url, poolSize: 4, applicationName: `applier-${n}` }));
  // a deadlock or any other non-transient error fails the run: the lock order must prevent them
  const run = await drain(delivered, pools.map(applier), 4);

  // the seeded shuffle puts refunds before their payments: those were retried, then applied
  expect(run.transient).toBeGreaterThan(0);
  // exactly once: every event applied by exactly one applier, every duplicate absorbed
  expect(run.applied.size).toBe(unique);
  expect([...run.applied.values()].every((n) => n === 1)).toBe(true);
  expect(run.duplicates).toBe(duplicateCount);
  expect(await rowCount(shuffledDb.db, "stripe_events")).toBe(unique);
  const succeeded = events.filter((e) => e.type === "payment_intent.succeeded").length;
  const counts = await outboxCounts(shuffledDb.db);
  expect(counts["payment.succeeded"]).toBe(succeeded);
  expect(counts["balance.credited"]).toBe(succeeded);
  expect(counts["payment.failed"]).toBe(
    events.filter((e) => e.type === "payment_intent.payment_failed").length,
  );

  // the money: balance = sum(ledger) for every account, and equal to what the events imply
  expect(await balanceDrift(shuffledDb.db)).toEqual([]);
  expect(await balances(shuffledDb.db)).toEqual(expectedBalances(events));

  // order independence: the same events applied once each, in order, by one applier
  const reference = await drain(
    events.map((event) => stripeMessage(event)),
    [applier(inOrderDb.db)],
    1,
  );
  expect(reference.transient).toBe(0);
  expect(await entityState(shuffledDb.db)).toEqual(await entityState(inOrderDb.db));
  expect(await orderFreeEventIds(shuffledDb.db)).toEqual(await orderFreeEventIds(inOrderDb.db));
});
