import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscriptionsCreated } from "../../lib/metrics/registry.ts";
import { subscription } from "../domain/stripe-fixtures.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { counterValue } from "./billing-state.ts";
import { type History, runPermutations } from "./permutations.ts";
import { type Applier, applier, stripeEvent, stripeMessage } from "./stripe-messages.ts";

let database: TestDatabase;
let worker: Applier;

beforeAll(async () => {
  database = await createTestDatabase();
  worker = applier(database.db);
});
afterAll(() => database.drop());

const t0 = 1_760_000_000;
const day = 86_400;
type Json = Record<string, unknown>;

/** A subscription snapshot with its period end on the first item, as since API 2025-03-31. */
function snapshot(id: string, status: string, periodEnd: number, overrides: Json = {}): Json {
  const object = subscription(status, { id, ...overrides });
  const items = object.items as { data: Json[] };
  items.data = items.data.map((item) => ({ ...item, current_period_end: periodEnd, subscription: id }));
  return object;
}

const event = (type: string, created: number, object: Json, id: string) =>
  stripeEvent(`customer.subscription.${type}`, created, object, id);

// incomplete → active → set to cancel at period end → deleted at period end
const cancelFlow: History = (id, eventId) => [
  event("created", t0, snapshot(id, "incomplete", t0 + 30 * day), eventId(0)),
  event("updated", t0 + 5, snapshot(id, "active", t0 + 30 * day), eventId(1)),
  event(
    "updated",
    t0 + 2 * day,
    snapshot(id, "active", t0 + 30 * day, { cancel_at_period_end: true }),
    eventId(2),
  ),
  event(
    "deleted",
    t0 + 30 * day,
    snapshot(id, "canceled", t0 + 30 * day, { cancel_at_period_end: true }),
    eventId(3),
  ),
];

// trialing → trial_will_end (same snapshot, newer) → active with a new period → past_due
const trialFlow: History = (id, eventId) => [
  event("created", t0, snapshot(id, "trialing", t0 + 14 * day), eventId(0)),
  event("trial_will_end", t0 + 11 * day, snapshot(id, "trialing", t0 + 14 * day), eventId(1)),
  event("updated", t0 + 14 * day, snapshot(id, "active", t0 + 44 * day), eventId(2)),
  event("updated", t0 + 44 * day, snapshot(id, "past_due", t0 + 74 * day), eventId(3)),
];

// Several changes in one second (as a subscription created and paid at once): ties broken by
// status rank, then event id, so still one answer.
const sameSecond: History = (id, eventId) => [
  event("created", t0, snapshot(id, "incomplete", t0 + 30 * day), eventId(0)),
  event("updated", t0, snapshot(id, "active", t0 + 30 * day), eventId(1)),
  event("updated", t0 + 1, snapshot(id, "active", t0 + 30 * day, { cancel_at_period_end: true }), eventId(2)),
  event(
    "updated",
    t0 + 1,
    snapshot(id, "past_due", t0 + 30 * day, { cancel_at_period_end: true }),
    eventId(3),
  ),
];

/** The row with its own id left out and the event id reduced to the history index. */
async function read(id: string, eventTag: string) {
  const row = await database.db
    .selectFrom("subscriptions")
    .select([
      "customer_id",
      "status",
      "price_id",
      "current_period_end",
      "cancel_at_period_end",
      "event_created",
      "event_id",
    ])
    .where("subscription_id", "=", id)
    .executeTakeFirstOrThrow();
  return { ...row, event_id: row.event_id.replace(eventTag, "#") };
}

const outboxOf = async (id: string) => {
  const rows = await database.db
    .selectFrom("outbox")
    .select("type")
    .where(sql<string>`payload->'data'->>'subscriptionId'`, "=", id)
    .execute();
  return rows.map((r) => r.type);
};
const count = (types: string[], type: string) => types.filter((t) => t === type).length;

// Each event in a transaction of its own, then each permutation as ONE batch in its order: the
// planner must order snapshots within a batch exactly as the database orders them across batches.
describe.each([
  ["one per transaction", false, ""],
  ["in one batch", true, "_b"],
] as const)("subscription histories in every order, %s", (_, inOneBatch, suffix) => {
  // Order independence: each of the 24 orders of a 4-event history ends in the in-order state, and
  // with distinct seconds that is the last event's snapshot.
  it.each([
    ["cancel", cancelFlow, { status: "canceled", cancel_at_period_end: true, event_id: "#3" }, 1],
    ["trial", trialFlow, { status: "past_due", cancel_at_period_end: false, event_id: "#3" }, 0],
    ["tie", sameSecond, { status: "past_due", cancel_at_period_end: true, event_id: "#3" }, 0],
  ] as const)("%s history", async (name, history, last, canceled) => {
    const createdBefore = await counterValue(subscriptionsCreated);
    const { inOrder, runs } = await runPermutations({
      name: `sub_${name}${suffix}`,
      history,
      worker,
      read,
      inOneBatch,
    });
    expect(runs).toHaveLength(24);
    expect(inOrder).toMatchObject({ ...last, customer_id: "cus_RkT0a1b2c3d4e5", price_id: "price_pro_2500" });
    for (const run of runs) {
      expect({ order: run.order, state: run.state }).toEqual({ order: run.order, state: inOrder });
      // created once (on first sight, whichever event that was), canceled once if it ends canceled
      const types = await outboxOf(run.entityId);
      expect([count(types, "subscription.created"), count(types, "subscription.canceled")]).toEqual([
        1,
        canceled,
      ]);
    }
    // one subscription per run, counted once each
    expect(await counterValue(subscriptionsCreated)).toBe(createdBefore + 25);
  });
});

describe("subscription events", () => {
  // Stripe's 2025 shape: the period end lives on the first item; it reaches the row as a timestamp.
  it("stores the period end, price and customer of a created subscription", async () => {
    await worker.apply(
      stripeMessage(event("created", t0, snapshot("sub_shape", "active", t0 + 30 * day), "evt_shape_0")),
    );
    expect(await read("sub_shape", "evt_shape_")).toEqual({
      customer_id: "cus_RkT0a1b2c3d4e5",
      status: "active",
      price_id: "price_pro_2500",
      current_period_end: new Date((t0 + 30 * day) * 1000),
      cancel_at_period_end: false,
      event_created: t0,
      event_id: "#0",
    });
    expect(await outboxOf("sub_shape")).toEqual(["subscription.created"]);
  });

  // trial_will_end carries the subscription: an older snapshot changes nothing (but is audited);
  // a newer one is applied like any update.
  it("applies trial_will_end only when its snapshot is newer", async () => {
    const id = "sub_trial_end";
    await worker.apply(
      stripeMessage(event("updated", t0 + 20, snapshot(id, "trialing", t0 + 14 * day), "evt_te_1")),
    );
    await worker.apply(
      stripeMessage(event("trial_will_end", t0 + 10, snapshot(id, "trialing", t0 + 14 * day), "evt_te_0")),
    );
    expect(await read(id, "evt_te_")).toMatchObject({ event_created: t0 + 20, event_id: "#1" });
    const audited = await database.db
      .selectFrom("stripe_events")
      .select("type")
      .where("event_id", "=", "evt_te_0")
      .execute();
    expect(audited).toEqual([{ type: "customer.subscription.trial_will_end" }]);
    expect(await outboxOf(id)).toEqual(["subscription.created"]);

    await worker.apply(
      stripeMessage(event("trial_will_end", t0 + 30, snapshot(id, "trialing", t0 + 15 * day), "evt_te_2")),
    );
    expect(await read(id, "evt_te_")).toMatchObject({
      event_id: "#2",
      current_period_end: new Date((t0 + 15 * day) * 1000),
    });
    expect((await outboxOf(id)).sort()).toEqual(["subscription.created", "subscription.updated"]);
  });

  // A subscription without the customer it belongs to cannot be stored: permanent.
  it("rejects a subscription without a customer", async () => {
    const bad = event(
      "created",
      t0,
      snapshot("sub_nocustomer", "active", t0 + day, { customer: null }),
      "evt_nocus",
    );
    await expect(worker.apply(stripeMessage(bad))).rejects.toMatchObject({
      kind: "permanent",
      code: "invalid_event",
      message: "customer.subscription.created: customer missing",
    });
  });
});
