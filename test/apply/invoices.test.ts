import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invoice, withField } from "../domain/stripe-fixtures.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
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

const snapshot = (id: string, status: string, overrides: Json = {}) => invoice(status, { id, ...overrides });
const event = (type: string, created: number, object: Json, id: string) =>
  stripeEvent(`invoice.${type}`, created, object, id);

// open → a failed attempt → paid, reported by both invoice.paid and invoice.payment_succeeded
const paidAfterFailure: History = (id, eventId) => [
  event("finalized", t0, snapshot(id, "open", { attempt_count: 0 }), eventId(0)),
  event("payment_failed", t0 + 3600, snapshot(id, "open", { attempt_count: 1 }), eventId(1)),
  event("paid", t0 + 3 * day, snapshot(id, "paid", { attempt_count: 2 }), eventId(2)),
  event("payment_succeeded", t0 + 3 * day, snapshot(id, "paid", { attempt_count: 2 }), eventId(3)),
];

// draft → open and a failed attempt in the same second → void
const voided: History = (id, eventId) => [
  event("created", t0, snapshot(id, "draft", { attempt_count: 0, attempted: false }), eventId(0)),
  event("finalized", t0 + 60, snapshot(id, "open", { attempt_count: 0 }), eventId(1)),
  event("payment_failed", t0 + 60, snapshot(id, "open", { attempt_count: 1 }), eventId(2)),
  event("voided", t0 + 5 * day, snapshot(id, "void", { attempt_count: 1 }), eventId(3)),
];

// A failed attempt in the same second as the finalization, and the tie broken (by event id) in
// favour of the finalization's snapshot: attempt_count must still say one attempt failed.
const sameSecondTie: History = (id, eventId) => [
  event("created", t0, snapshot(id, "draft", { attempt_count: 0, attempted: false }), eventId(0)),
  event("updated", t0 + 30, snapshot(id, "draft", { attempt_count: 0, description: "Pro plan" }), eventId(1)),
  event("finalized", t0 + 60, snapshot(id, "open", { attempt_count: 0 }), eventId(3)),
  event("payment_failed", t0 + 60, snapshot(id, "open", { attempt_count: 1 }), eventId(2)),
];

// open → failed → uncollectible → paid late (no subscription: a one-off invoice, older API shape)
const paidLate: History = (id, eventId) => {
  const oneOff = { parent: null, subscription: null };
  return [
    event("finalized", t0, snapshot(id, "open", { ...oneOff, attempt_count: 0 }), eventId(0)),
    event("payment_failed", t0 + day, snapshot(id, "open", { ...oneOff, attempt_count: 1 }), eventId(1)),
    event(
      "marked_uncollectible",
      t0 + 30 * day,
      snapshot(id, "uncollectible", { ...oneOff, attempt_count: 1 }),
      eventId(2),
    ),
    event(
      "paid",
      t0 + 40 * day,
      snapshot(id, "paid", { ...oneOff, attempt_count: 1, paid_out_of_band: true }),
      eventId(3),
    ),
  ];
};

async function read(id: string, eventTag: string) {
  const row = await database.db
    .selectFrom("invoices")
    .select([
      "customer_id",
      "subscription_id",
      "status",
      "amount_due",
      "amount_paid",
      "currency",
      "attempt_count",
      "event_created",
      "event_id",
    ])
    .where("invoice_id", "=", id)
    .executeTakeFirstOrThrow();
  return { ...row, event_id: row.event_id.replace(eventTag, "#") };
}

const outboxOf = async (id: string) => {
  const rows = await database.db
    .selectFrom("outbox")
    .select(["type", "payload"])
    .where(sql<string>`payload->'data'->>'invoiceId'`, "=", id)
    .execute();
  return rows;
};
const typesOf = async (id: string) => (await outboxOf(id)).map((r) => r.type).sort();

// Each event in a transaction of its own, then each permutation as ONE batch in its order: the
// planner must order snapshots within a batch exactly as the database orders them across batches.
describe.each([
  ["one per transaction", false, ""],
  ["in one batch", true, "_b"],
] as const)("invoice histories in every order, %s", (_, inOneBatch, suffix) => {
  // Order independence: all 24 orders end in the in-order state; attempt_count and amount_paid only
  // grow, so a same-second tie can never lose an attempt.
  it.each([
    [
      "paid",
      paidAfterFailure,
      {
        status: "paid",
        attempt_count: 2,
        amount_paid: 2500,
        subscription_id: "sub_1QxZa3LkdIwHu7ixAbCdEfGh",
        event_id: "#3",
      },
      ["invoice.paid", "invoice.payment_failed"],
    ],
    [
      "tie",
      sameSecondTie,
      { status: "open", attempt_count: 1, amount_paid: 0, event_id: "#3" },
      ["invoice.payment_failed"],
    ],
    [
      "void",
      voided,
      { status: "void", attempt_count: 1, amount_paid: 0, event_id: "#3" },
      ["invoice.payment_failed"],
    ],
    [
      "late",
      paidLate,
      { status: "paid", attempt_count: 1, amount_paid: 2500, subscription_id: null, event_id: "#3" },
      ["invoice.paid", "invoice.payment_failed"],
    ],
  ] as const)("%s history", async (name, history, last, events) => {
    const { inOrder, runs } = await runPermutations({
      name: `in_${name}${suffix}`,
      history,
      worker,
      read,
      inOneBatch,
    });
    expect(runs).toHaveLength(24);
    expect(inOrder).toMatchObject({
      ...last,
      customer_id: "cus_RkT0a1b2c3d4e5",
      amount_due: 2500,
      currency: "usd",
    });
    for (const run of runs) {
      expect({ order: run.order, state: run.state }).toEqual({ order: run.order, state: inOrder });
      // invoice.paid once although two Stripe events report it; one payment_failed per attempt
      expect(await typesOf(run.entityId)).toEqual(events);
    }
  });
});

describe("invoice events", () => {
  // invoice.paid and invoice.payment_succeeded are one logical change: one domain event, whose id
  // derives from the invoice, whichever arrives first.
  it("emits one invoice.paid for invoice.paid and invoice.payment_succeeded", async () => {
    const id = "in_both_paid";
    await worker.apply(stripeMessage(event("payment_succeeded", t0, snapshot(id, "paid"), "evt_both_1")));
    await worker.apply(stripeMessage(event("paid", t0, snapshot(id, "paid"), "evt_both_0")));
    const rows = await outboxOf(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.payload).toMatchObject({
      type: "invoice.paid",
      correlationId: "evt_both_1",
      data: {
        invoiceId: id,
        amountPaid: 2500,
        currency: "usd",
        subscriptionId: "sub_1QxZa3LkdIwHu7ixAbCdEfGh",
      },
    });
    expect(await read(id, "evt_both_")).toMatchObject({ status: "paid", amount_paid: 2500 });
  });

  // A failed attempt records the attempt count and tells other services.
  it("records attempt_count and emits invoice.payment_failed", async () => {
    const id = "in_failed_twice";
    await worker.apply(
      stripeMessage(event("payment_failed", t0, snapshot(id, "open", { attempt_count: 1 }), "evt_ft_0")),
    );
    await worker.apply(
      stripeMessage(
        event("payment_failed", t0 + day, snapshot(id, "open", { attempt_count: 2 }), "evt_ft_1"),
      ),
    );
    expect(await read(id, "evt_ft_")).toMatchObject({ status: "open", attempt_count: 2, event_id: "#1" });
    const failures = (await outboxOf(id)).map(
      (r) => (r.payload.data as { attemptCount: number }).attemptCount,
    );
    expect(failures.sort()).toEqual([1, 2]);
  });

  // What the handler needs is checked: no amount due is a permanent invalid_event.
  it("rejects an invoice without amount_due", async () => {
    const bad = withField(
      event("finalized", t0, snapshot("in_no_amount", "open"), "evt_no_amount"),
      "amount_due",
      null,
    );
    await expect(worker.apply(stripeMessage(bad))).rejects.toMatchObject({
      kind: "permanent",
      code: "invalid_event",
      message: "invoice.finalized: amount_due missing",
    });
  });
});
