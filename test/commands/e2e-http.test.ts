import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Command } from "../../lib/domain/commands.ts";
import { idempotencyKey } from "../../lib/stripe/client.ts";
import { waitFor } from "../helpers/wait.ts";
import { balanceOf, commandRow, fundAccount, resultField, stripeCalls } from "./command-harness.ts";
import { commandToken, type Fleet, startFleet } from "./fleet-harness.ts";

// END-TO-END over HTTP: POST /v1/commands on the real ingester (startWeb) → billing_queue → the
// real worker → Postgres and the Stripe emulator. Each command type reaches succeeded once.

let fleet: Fleet;

beforeAll(async () => {
  fleet = await startFleet({ workers: 1, web: true });
});
afterAll(() => fleet?.stop());

async function post(command: Command): Promise<Response> {
  return fetch(`${fleet.webUrl}/v1/commands`, {
    method: "POST",
    headers: { authorization: `Bearer ${commandToken}`, "content-type": "application/json" },
    body: JSON.stringify(command),
  });
}

async function run(command: Command) {
  const before = fleet.emulator.requests().length;
  const response = await post(command);
  expect(response.status).toBe(202);
  expect(await response.json()).toEqual({ id: command.id, status: "accepted" });
  await waitFor(
    async () => (await commandRow(fleet.db, command.id)) !== undefined,
    `the row of ${command.id}`,
    15_000,
  );
  const row = await commandRow(fleet.db, command.id);
  expect(row).toMatchObject({ type: command.type, status: "succeeded", error: null, source: "e2e-service" });
  return { row, calls: fleet.emulator.requests().slice(before) };
}

const steps = (calls: { method: string; path: string; idempotencyKey: string | null }[]) =>
  calls.map(
    (c) =>
      `${c.method} ${c.path.replace(/(cus|sub|in|pi)_[A-Za-z0-9]+/g, "$1_*")} ${c.idempotencyKey ?? "-"}`,
  );

describe("every command type over POST /v1/commands", () => {
  it("customer.ensure", async () => {
    const { row, calls } = await run({ id: "h-cust", type: "customer.ensure", accountId: "acct-h" });
    expect(steps(calls)).toEqual([`POST /v1/customers ${idempotencyKey("h-cust", "customer")}`]);
    const customers = await fleet.db
      .selectFrom("customers")
      .selectAll()
      .where("account_id", "=", "acct-h")
      .execute();
    expect(customers.map((c) => c.customer_id)).toEqual([resultField(row, "customerId")]);
  });

  it("deposit.create, then payment.refund of it", async () => {
    const deposit = await run({
      id: "h-dep",
      type: "deposit.create",
      accountId: "acct-h",
      amount: 1800,
      currency: "usd",
    });
    expect(steps(deposit.calls)).toEqual([
      // the emulator records Idempotency-Key on POSTs only (we send it on every request)
      "GET /v1/customers/cus_* -",
      `POST /v1/payment_intents ${idempotencyKey("h-dep", "payment-intent")}`,
    ]);
    const paymentIntentId = resultField(deposit.row, "paymentIntentId");
    const refund = await run({ id: "h-ref", type: "payment.refund", paymentIntentId });
    expect(steps(refund.calls)).toEqual([`POST /v1/refunds ${idempotencyKey("h-ref", "refund")}`]);
    expect(refund.row?.result).toMatchObject({ amount: 1800 });
  });

  it("subscription.create, then subscription.cancel", async () => {
    const created = await run({
      id: "h-sub",
      type: "subscription.create",
      accountId: "acct-h",
      priceId: "price_basic",
    });
    expect(steps(created.calls)).toEqual([
      `POST /v1/subscriptions ${idempotencyKey("h-sub", "subscription")}`,
    ]);
    const subscriptionId = resultField(created.row, "subscriptionId");
    const canceled = await run({
      id: "h-cancel",
      type: "subscription.cancel",
      subscriptionId,
      atPeriodEnd: true,
    });
    expect(steps(canceled.calls)).toEqual([
      `POST /v1/subscriptions/sub_* ${idempotencyKey("h-cancel", "cancel-at-period-end")}`,
    ]);
  });

  it("invoice.create", async () => {
    const { row, calls } = await run({
      id: "h-inv",
      type: "invoice.create",
      accountId: "acct-h",
      items: [
        { amount: 500, currency: "usd", description: "A" },
        { amount: 700, currency: "usd", description: "B" },
      ],
    });
    expect(steps(calls)).toEqual([
      `POST /v1/invoices ${idempotencyKey("h-inv", "invoice")}`,
      `POST /v1/invoiceitems ${idempotencyKey("h-inv", "item-0")}`,
      `POST /v1/invoiceitems ${idempotencyKey("h-inv", "item-1")}`,
      `POST /v1/invoices/in_*/finalize ${idempotencyKey("h-inv", "finalize")}`,
    ]);
    expect(row?.result).toMatchObject({ status: "open", amountDue: 1200 });
  });

  it("balance.charge", async () => {
    await fundAccount(fleet.db, "acct-h", "gbp", 1000, "pi_seed_h");
    const { row, calls } = await run({
      id: "h-charge",
      type: "balance.charge",
      accountId: "acct-h",
      amount: 250,
      currency: "gbp",
      reason: "export",
    });
    expect(calls).toEqual([]);
    expect(row?.result).toMatchObject({ balance: 750 });
    expect(await balanceOf(fleet.db, "acct-h", "gbp")).toBe(750);
  });

  // Same id, other fields, over HTTP: accepted by the ingester (it has no database), refused by
  // the worker as idempotency_conflict without a Stripe call; the first outcome stands.
  it("refuses the same id with other fields as idempotency_conflict", async () => {
    const requests = fleet.emulator.requests().length;
    const first = await commandRow(fleet.db, "h-dep");
    expect(
      (await post({ id: "h-dep", type: "deposit.create", accountId: "acct-h", amount: 1, currency: "usd" }))
        .status,
    ).toBe(202);
    await waitFor(
      async () =>
        (
          await fleet.db.selectFrom("outbox").select("type").where("correlation_id", "=", "h-dep").execute()
        ).some((r) => r.type === "command.failed"),
      "the conflict event",
      15_000,
    );
    expect(fleet.emulator.requests()).toHaveLength(requests);
    expect(await commandRow(fleet.db, "h-dep")).toEqual(first);
    expect(stripeCalls(fleet.emulator, "/v1/payment_intents", "POST")).toHaveLength(1);
  });
});
