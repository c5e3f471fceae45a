import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appliedStripeEventTypes } from "../../lib/domain/stripe-change.ts";
import { unknownStripeEvents } from "../../lib/metrics/registry.ts";
import { customerCreated, withField } from "../domain/stripe-fixtures.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { counterValue, outboxCounts, rowCount } from "./billing-state.ts";
import { type Applier, applier, stripeEvent, stripeMessage } from "./stripe-messages.ts";

let database: TestDatabase;
let worker: Applier;

beforeAll(async () => {
  database = await createTestDatabase();
  worker = applier(database.db);
});
afterAll(() => database.drop());

const effects = async () => ({
  payments: await rowCount(database.db, "payments"),
  subscriptions: await rowCount(database.db, "subscriptions"),
  invoices: await rowCount(database.db, "invoices"),
  customers: await rowCount(database.db, "customers"),
  ledger: await rowCount(database.db, "ledger_entries"),
  outbox: await outboxCounts(database.db),
});

const audited = (id: string) =>
  database.db.selectFrom("stripe_events").selectAll().where("event_id", "=", id).executeTakeFirst();

describe("handleStripeEvent", () => {
  // The Contract's list: every one of these types has a handler (anything else is audit-only).
  it("applies every Stripe event type the Contract names", () => {
    const contract = [
      "payment_intent.succeeded",
      "payment_intent.payment_failed",
      "customer.subscription.created",
      "customer.subscription.updated",
      "customer.subscription.deleted",
      "invoice.payment_succeeded",
      "invoice.payment_failed",
      "invoice.paid",
      "invoice.finalized",
      "charge.refunded",
      "customer.created",
      "customer.subscription.trial_will_end",
    ];
    expect(appliedStripeEventTypes).toEqual(expect.arrayContaining(contract));
  });

  // Any other type: acknowledged (the transaction commits), counted, kept in the audit table, no effect.
  it("audits and counts an unknown type with no effect", async () => {
    const event = stripeEvent("charge.dispute.created", 1_760_000_300, {
      id: "dp_1QxZa3LkdIwHu7ix",
      object: "dispute",
      amount: 2500,
      currency: "usd",
    });
    const before = await effects();
    const counted = await counterValue(unknownStripeEvents, { type: "charge.dispute.created" });
    expect(await worker.apply(stripeMessage(event))).toBe("applied");

    expect(await effects()).toEqual(before);
    expect(await counterValue(unknownStripeEvents, { type: "charge.dispute.created" })).toBe(counted + 1);
    expect(await audited(String(event.id))).toMatchObject({
      type: "charge.dispute.created",
      event_created: 1_760_000_300,
      payload: {
        id: event.id,
        type: "charge.dispute.created",
        data: { object: { id: "dp_1QxZa3LkdIwHu7ix" } },
      },
    });
  });

  // The handler table is looked up by own keys only: a type named like an Object.prototype member
  // is an unknown type, not a crash.
  it("treats a type named like a prototype member as unknown", async () => {
    const event = stripeEvent("constructor", 1_760_000_300, { id: "x_1", object: "thing" });
    expect(await worker.apply(stripeMessage(event))).toBe("applied");
    expect(await audited(String(event.id))).toMatchObject({ type: "constructor" });
  });

  // Applied types are audited too, in the same transaction as their effect.
  it("audits an applied event with its exact payload", async () => {
    const event = customerCreated();
    await worker.apply(stripeMessage(event));
    const row = await audited(String(event.id));
    expect(row?.payload).toEqual(event);
    expect(row?.type).toBe("customer.created");
  });
});

describe("customer.created", () => {
  // A customer whose metadata names an account maps to it; the first mapping is kept.
  it("maps the customer to the account its metadata names", async () => {
    const customer = await database.db
      .selectFrom("customers")
      .selectAll()
      .where("customer_id", "=", "cus_RkT0a1b2c3d4e5")
      .executeTakeFirst();
    expect(customer).toMatchObject({ account_id: "acct-42", email: "ada@example.com" });

    const again = withField(withField(customerCreated(), "$.id", "evt_customer_again"), "metadata", {
      account_id: "acct-other",
    });
    await worker.apply(stripeMessage(again));
    const rows = await database.db
      .selectFrom("customers")
      .select("account_id")
      .where("customer_id", "=", "cus_RkT0a1b2c3d4e5")
      .execute();
    expect(rows).toEqual([{ account_id: "acct-42" }]);
  });

  // A customer made outside billing (no account_id) is audited only.
  it("has no effect without metadata.account_id", async () => {
    const event = withField(
      withField(withField(customerCreated(), "$.id", "evt_customer_plain"), "id", "cus_plain"),
      "metadata",
      {},
    );
    await worker.apply(stripeMessage(event));
    const rows = await database.db
      .selectFrom("customers")
      .select("account_id")
      .where("customer_id", "=", "cus_plain")
      .execute();
    expect(rows).toEqual([]);
    expect(await audited("evt_customer_plain")).toMatchObject({ type: "customer.created" });
  });
});
