import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Command } from "../../lib/domain/commands.ts";
import { idempotencyKey } from "../../lib/stripe/client.ts";
import {
  type CommandHarness,
  commandEvents,
  commandInbound,
  commandRow,
  resultField,
  startCommandHarness,
  stripeCalls,
  stripeInbound,
} from "./command-harness.ts";

// Each command type, applied as a worker applies it (inbox + handler + outbox in one transaction),
// against the Stripe emulator: the effect in Stripe, the commands row, the command.succeeded event,
// and every Stripe request carrying the Idempotency-Key of (command id, step).

let h: CommandHarness;

beforeAll(async () => {
  h = await startCommandHarness();
});
afterAll(() => h.close());

async function run(command: Command) {
  const before = h.emulator.requests().length;
  expect(await h.apply(commandInbound(command))).toBe("applied");
  const row = await commandRow(h.db, command.id);
  const events = await commandEvents(h.db, command.id);
  return { row, events, calls: h.emulator.requests().slice(before) };
}

describe("customer.ensure", () => {
  // One Stripe customer per account: the second ensure (another id) reuses the row, no Stripe call.
  it("creates the customer once, with metadata account_id, and reuses it", async () => {
    const first = await run({
      id: "ce-1",
      type: "customer.ensure",
      accountId: "acct-c",
      email: "c@example.com",
    });
    expect(first.row).toMatchObject({ type: "customer.ensure", status: "succeeded", source: "test-service" });
    expect(first.row?.result).toMatchObject({ accountId: "acct-c", created: true });
    const customerId = resultField(first.row, "customerId");
    expect(customerId).toMatch(/^cus_/);
    expect(first.calls).toMatchObject([
      {
        method: "POST",
        path: "/v1/customers",
        idempotencyKey: idempotencyKey("ce-1", "customer"),
        params: { email: "c@example.com", metadata: { account_id: "acct-c" } },
        status: 200,
      },
    ]);
    const customers = await h.db
      .selectFrom("customers")
      .selectAll()
      .where("account_id", "=", "acct-c")
      .execute();
    expect(customers).toMatchObject([
      { customer_id: customerId, account_id: "acct-c", email: "c@example.com" },
    ]);
    expect(first.events).toMatchObject([
      {
        type: "command.succeeded",
        body: {
          type: "command.succeeded",
          correlationId: "ce-1",
          data: { commandId: "ce-1", commandType: "customer.ensure", status: "succeeded" },
        },
      },
    ]);

    const second = await run({ id: "ce-2", type: "customer.ensure", accountId: "acct-c" });
    expect(second.calls).toEqual([]);
    expect(second.row?.result).toEqual({ accountId: "acct-c", customerId, created: false });
  });
});

describe("deposit.create", () => {
  // The PaymentIntent is created confirmed with the deposit metadata; the balance moves only when
  // payment_intent.succeeded is applied, and then once however often it is delivered.
  it("creates a confirmed PaymentIntent; the succeeded event credits the balance once", async () => {
    const { row, calls, events } = await run({
      id: "dep-1",
      type: "deposit.create",
      accountId: "acct-d",
      amount: 2500,
      currency: "usd",
    });
    expect(row).toMatchObject({ status: "succeeded", error: null });
    expect(row?.result).toMatchObject({
      accountId: "acct-d",
      status: "succeeded",
      amount: 2500,
      currency: "usd",
    });
    expect(calls).toMatchObject([
      {
        method: "POST",
        path: "/v1/payment_intents",
        idempotencyKey: idempotencyKey("dep-1", "payment-intent"),
        params: {
          amount: "2500",
          currency: "usd",
          confirm: "true",
          metadata: { account_id: "acct-d", purpose: "deposit", command_id: "dep-1" },
        },
      },
    ]);
    expect(events.map((e) => e.type)).toEqual(["command.succeeded"]);
    expect(
      await h.db.selectFrom("accounts").selectAll().where("account_id", "=", "acct-d").execute(),
    ).toEqual([]);

    const succeeded = h.emulator.events().filter((e) => e.type === "payment_intent.succeeded");
    expect(succeeded).toHaveLength(1);
    const message = stripeInbound(succeeded[0] as { id: string; type: string });
    expect(await h.apply(message)).toBe("applied");
    expect(await h.apply(message)).toBe("duplicate");
    const account = await h.db
      .selectFrom("accounts")
      .selectAll()
      .where("account_id", "=", "acct-d")
      .execute();
    expect(account).toMatchObject([{ currency: "usd", balance: 2500 }]);
  });

  // With a known customer the PaymentIntent is attached to it (its default payment method is read first).
  it("attaches the account's customer", async () => {
    await run({ id: "dep-c-0", type: "customer.ensure", accountId: "acct-dc" });
    const { row, calls } = await run({
      id: "dep-c-1",
      type: "deposit.create",
      accountId: "acct-dc",
      amount: 700,
      currency: "eur",
    });
    const customerId = resultField(row, "customerId");
    expect(customerId).toMatch(/^cus_/);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `GET /v1/customers/${customerId}`,
      "POST /v1/payment_intents",
    ]);
    expect(calls[1]?.params).toMatchObject({ customer: customerId, confirm: "true" });
  });
});

describe("subscription.create", () => {
  // The customer is created first under its own step key, then the subscription.
  it("creates the customer (step customer) then the subscription (step subscription)", async () => {
    const { row, calls } = await run({
      id: "sub-1",
      type: "subscription.create",
      accountId: "acct-s",
      priceId: "price_pro_2500",
      trialDays: 14,
    });
    expect(row).toMatchObject({ status: "succeeded" });
    expect(row?.result).toMatchObject({ accountId: "acct-s", priceId: "price_pro_2500", status: "trialing" });
    expect(calls.map((c) => [c.method, c.path, c.idempotencyKey])).toEqual([
      ["POST", "/v1/customers", idempotencyKey("sub-1", "customer")],
      ["POST", "/v1/subscriptions", idempotencyKey("sub-1", "subscription")],
    ]);
    expect(calls[1]?.params).toMatchObject({
      items: [{ price: "price_pro_2500" }],
      trial_period_days: "14",
      metadata: { account_id: "acct-s" },
    });
    const customers = await h.db
      .selectFrom("customers")
      .selectAll()
      .where("account_id", "=", "acct-s")
      .execute();
    expect(customers).toHaveLength(1);
  });
});

describe("subscription.cancel", () => {
  async function subscription(id: string): Promise<string> {
    const { row } = await run({
      id,
      type: "subscription.create",
      accountId: `acct-${id}`,
      priceId: "price_basic",
    });
    return resultField(row, "subscriptionId");
  }

  // atPeriodEnd only marks it; the subscription stays active until the period ends.
  it("sets cancel_at_period_end when atPeriodEnd", async () => {
    const subscriptionId = await subscription("sc-a");
    const { row, calls } = await run({
      id: "sc-a-cancel",
      type: "subscription.cancel",
      subscriptionId,
      atPeriodEnd: true,
    });
    expect(row?.result).toMatchObject({ subscriptionId, status: "active", cancelAtPeriodEnd: true });
    expect(calls).toMatchObject([
      {
        method: "POST",
        path: `/v1/subscriptions/${subscriptionId}`,
        idempotencyKey: idempotencyKey("sc-a-cancel", "cancel-at-period-end"),
        params: { cancel_at_period_end: "true" },
      },
    ]);
  });

  // Canceling now; a second cancel (another id) meets Stripe's 404 on a canceled subscription: success.
  it("cancels now, and treats an already canceled subscription as done", async () => {
    const subscriptionId = await subscription("sc-n");
    const first = await run({
      id: "sc-n-1",
      type: "subscription.cancel",
      subscriptionId,
      atPeriodEnd: false,
    });
    expect(first.row?.result).toEqual({ subscriptionId, status: "canceled", alreadyCanceled: false });
    expect(first.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `DELETE /v1/subscriptions/${subscriptionId}`,
    ]);

    const again = await run({
      id: "sc-n-2",
      type: "subscription.cancel",
      subscriptionId,
      atPeriodEnd: false,
    });
    expect(again.row).toMatchObject({ status: "succeeded" });
    expect(again.row?.result).toEqual({ subscriptionId, status: "canceled", alreadyCanceled: true });
    expect(again.calls.map((c) => [c.method, c.status])).toEqual([
      ["DELETE", 404],
      ["GET", 200],
    ]);
  });

  // A subscription that never existed is not "already canceled": the command fails with Stripe's message.
  it("fails for a subscription Stripe does not know", async () => {
    const { row } = await run({
      id: "sc-missing",
      type: "subscription.cancel",
      subscriptionId: "sub_doesnotexist",
      atPeriodEnd: false,
    });
    expect(row).toMatchObject({ status: "failed", result: null });
    expect(row?.error).toMatchObject({
      code: "stripe_request_failed",
      message: expect.stringContaining("sub_doesnotexist"),
      stripe: { status: 404 },
    });
  });
});

describe("invoice.create", () => {
  // A draft, its items added to it by id (steps item-0..n), then finalized: one open invoice with every line.
  it("creates a finalized invoice with every item", async () => {
    const { row, calls } = await run({
      id: "inv-1",
      type: "invoice.create",
      accountId: "acct-i",
      items: [
        { amount: 1200, currency: "usd", description: "Seats" },
        { amount: 300, currency: "usd", description: "Support" },
      ],
    });
    expect(row).toMatchObject({ status: "succeeded" });
    const result = row?.result as { invoiceId: string };
    expect(result).toMatchObject({ status: "open", amountDue: 1500, currency: "usd" });
    expect(calls.map((c) => [c.method, c.path, c.idempotencyKey])).toEqual([
      ["POST", "/v1/customers", idempotencyKey("inv-1", "customer")],
      ["POST", "/v1/invoices", idempotencyKey("inv-1", "invoice")],
      ["POST", "/v1/invoiceitems", idempotencyKey("inv-1", "item-0")],
      ["POST", "/v1/invoiceitems", idempotencyKey("inv-1", "item-1")],
      ["POST", `/v1/invoices/${result.invoiceId}/finalize`, idempotencyKey("inv-1", "finalize")],
    ]);
    expect(calls[2]?.params).toMatchObject({
      invoice: result.invoiceId,
      amount: "1200",
      description: "Seats",
    });
  });
});

describe("payment.refund", () => {
  // A partial refund of a deposit's PaymentIntent: one Stripe refund, keyed by the command.
  it("refunds the PaymentIntent", async () => {
    const deposit = await run({
      id: "ref-dep",
      type: "deposit.create",
      accountId: "acct-r",
      amount: 5000,
      currency: "usd",
    });
    const paymentIntentId = resultField(deposit.row, "paymentIntentId");
    const { row, calls } = await run({ id: "ref-1", type: "payment.refund", paymentIntentId, amount: 1500 });
    expect(row?.result).toMatchObject({
      paymentIntentId,
      amount: 1500,
      currency: "usd",
      status: "succeeded",
    });
    expect(calls).toMatchObject([
      {
        method: "POST",
        path: "/v1/refunds",
        idempotencyKey: idempotencyKey("ref-1", "refund"),
        params: { payment_intent: paymentIntentId, amount: "1500" },
      },
    ]);
    expect(stripeCalls(h.emulator, "/v1/refunds")).toHaveLength(1);
  });
});
