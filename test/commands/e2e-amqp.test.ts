import amqplib from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { names } from "../../lib/amqp/topology.ts";
import { type BillingClient, type CommandResult, connectBillingClient } from "../../lib/client/index.ts";
import type { Command } from "../../lib/domain/commands.ts";
import { idempotencyKey } from "../../lib/stripe/client.ts";
import { waitFor } from "../helpers/wait.ts";
import { balanceOf, commandRow, fundAccount, stripeCalls } from "./command-harness.ts";
import { type Fleet, startFleet } from "./fleet-harness.ts";

// END-TO-END over AMQP: lib/client → billing_queue → the real worker (startWorker) → Postgres and
// the Stripe emulator → outbox → the real relay → billing.events → the client's onResult.

let fleet: Fleet;
let billing: BillingClient;
const results = new Map<string, CommandResult[]>();

beforeAll(async () => {
  fleet = await startFleet({ workers: 1 });
  billing = await connectBillingClient({ url: fleet.vhost.url, service: "e2e-amqp", timeoutMs: 5000 });
  await billing.onResult((result) => {
    results.set(result.commandId, [...(results.get(result.commandId) ?? []), result]);
  });
});
afterAll(async () => {
  await billing?.close();
  await fleet?.stop();
});

async function outcome(command: Command): Promise<CommandResult> {
  await billing.send(command);
  await waitFor(() => results.has(command.id), `the result of ${command.id}`, 15_000);
  return results.get(command.id)?.[0] as CommandResult;
}

describe("every command type over AMQP", () => {
  it("customer.ensure, deposit.create, subscription.create/cancel, invoice.create, payment.refund, balance.charge", async () => {
    const customer = await outcome({
      id: "a-cust",
      type: "customer.ensure",
      accountId: "acct-a",
      email: "a@example.com",
    });
    expect(customer).toMatchObject({ status: "succeeded", type: "customer.ensure", data: { created: true } });
    const customerId = customer.data.customerId as string;
    expect(await commandRow(fleet.db, "a-cust")).toMatchObject({ status: "succeeded", source: "e2e-amqp" });

    const deposit = await outcome({
      id: "a-dep",
      type: "deposit.create",
      accountId: "acct-a",
      amount: 5000,
      currency: "usd",
    });
    expect(deposit).toMatchObject({ status: "succeeded", data: { status: "succeeded", customerId } });
    const paymentIntentId = deposit.data.paymentIntentId as string;
    expect(stripeCalls(fleet.emulator, "/v1/payment_intents", "POST")).toMatchObject([
      {
        idempotencyKey: idempotencyKey("a-dep", "payment-intent"),
        params: { metadata: { account_id: "acct-a" } },
      },
    ]);

    const subscription = await outcome({
      id: "a-sub",
      type: "subscription.create",
      accountId: "acct-a",
      priceId: "price_team_1500",
      trialDays: 7,
    });
    expect(subscription).toMatchObject({ status: "succeeded", data: { customerId, status: "trialing" } });
    const subscriptionId = subscription.data.subscriptionId as string;

    const cancel = await outcome({
      id: "a-cancel",
      type: "subscription.cancel",
      subscriptionId,
      atPeriodEnd: false,
    });
    expect(cancel).toMatchObject({ status: "succeeded", data: { subscriptionId, status: "canceled" } });

    const invoice = await outcome({
      id: "a-inv",
      type: "invoice.create",
      accountId: "acct-a",
      items: [{ amount: 4200, currency: "usd", description: "Consulting" }],
    });
    expect(invoice).toMatchObject({
      status: "succeeded",
      data: { customerId, status: "open", amountDue: 4200 },
    });

    const refund = await outcome({ id: "a-ref", type: "payment.refund", paymentIntentId, amount: 1000 });
    expect(refund).toMatchObject({ status: "succeeded", data: { paymentIntentId, amount: 1000 } });

    await fundAccount(fleet.db, "acct-a", "eur", 800, "pi_seed_a");
    const charge = await outcome({
      id: "a-charge",
      type: "balance.charge",
      accountId: "acct-a",
      amount: 300,
      currency: "eur",
      reason: "api calls",
    });
    expect(charge).toMatchObject({ status: "succeeded", data: { balance: 500 } });
    expect(await balanceOf(fleet.db, "acct-a", "eur")).toBe(500);

    const rows = await fleet.db
      .selectFrom("commands")
      .select(["command_id", "status"])
      .orderBy("command_id")
      .execute();
    expect(rows.every((r) => r.status === "succeeded")).toBe(true);
    expect(rows).toHaveLength(7);
    // every POST to Stripe carried the command's key
    for (const request of fleet.emulator.requests().filter((r) => r.method === "POST")) {
      expect(request.idempotencyKey).toMatch(/^billing:a-[a-z]+:/);
    }
  });
});

describe("idempotency over AMQP", () => {
  // Sent twice: one effect, one result. Same id with other fields: idempotency_conflict, no Stripe call.
  it("applies a re-sent command once and refuses other fields under the same id", async () => {
    const first = await outcome({
      id: "b-dep",
      type: "deposit.create",
      accountId: "acct-b",
      amount: 700,
      currency: "usd",
    });
    expect(first.status).toBe("succeeded");
    const requests = fleet.emulator.requests().length;
    await billing.send({
      id: "b-dep",
      type: "deposit.create",
      accountId: "acct-b",
      amount: 700,
      currency: "usd",
    });
    await billing.send({
      id: "b-dep",
      type: "deposit.create",
      accountId: "acct-b",
      amount: 701,
      currency: "usd",
    });
    await waitFor(() => (results.get("b-dep")?.length ?? 0) >= 2, "the conflict result", 15_000);
    expect(results.get("b-dep")?.[1]).toMatchObject({
      status: "failed",
      error: { code: "idempotency_conflict" },
    });
    expect(fleet.emulator.requests()).toHaveLength(requests);
    expect(
      stripeCalls(fleet.emulator, "/v1/payment_intents").filter((r) => r.params.amount === "701"),
    ).toEqual([]);
  });
});

describe("Stripe faults over AMQP", () => {
  it("retries injected 500s and 429s to success", async () => {
    fleet.emulator.setFaults({
      failNext: [
        { status: 500, count: 2 },
        { status: 429, count: 1, retryAfterS: 1 },
      ],
      paths: "^/v1/refunds",
    });
    const deposit = await outcome({
      id: "c-dep",
      type: "deposit.create",
      accountId: "acct-c",
      amount: 900,
      currency: "usd",
    });
    const paymentIntentId = deposit.data.paymentIntentId as string;
    const refund = await outcome({ id: "c-ref", type: "payment.refund", paymentIntentId });
    expect(refund).toMatchObject({ status: "succeeded", data: { amount: 900 } });
    expect(
      stripeCalls(fleet.emulator, "/v1/refunds")
        .filter((r) => r.params.payment_intent === paymentIntentId)
        .map((r) => r.status),
    ).toEqual([500, 500, 429, 200]);
  });

  it("fails a command Stripe refuses (400) with Stripe's message", async () => {
    const result = await outcome({
      id: "c-bad",
      type: "subscription.create",
      accountId: "acct-c",
      priceId: "price_missing",
    });
    expect(result).toMatchObject({
      status: "failed",
      error: {
        code: "stripe_request_failed",
        message: expect.stringContaining("No such price"),
        stripe: { status: 400 },
      },
    });
  });
});

describe("a message that is not a command", () => {
  // Parked in the DLQ (archived to billing.dead_letters) for ops to fix and replay; never applied.
  it("is dead-lettered as permanent invalid_command", async () => {
    const connection = await amqplib.connect(fleet.vhost.url);
    try {
      const channel = await connection.createConfirmChannel();
      const body = {
        id: "d-bad",
        type: "balance.charge",
        accountId: "acct-d",
        amount: 0,
        currency: "usd",
        reason: "x",
      };
      channel.publish(names.exchange, "command.balance.charge", Buffer.from(JSON.stringify(body)), {
        messageId: "d-bad",
        type: "balance.charge",
        headers: { "x-source": "e2e" },
      });
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
    await waitFor(
      async () =>
        (await fleet.db.selectFrom("dead_letters").selectAll().where("message_id", "=", "d-bad").execute())
          .length === 1,
      "the dead letter row",
      15_000,
    );
    const [row] = await fleet.db
      .selectFrom("dead_letters")
      .selectAll()
      .where("message_id", "=", "d-bad")
      .execute();
    expect(row).toMatchObject({
      error_kind: "permanent",
      status: "parked",
      routing_key: "command.balance.charge",
    });
    expect(row?.error).toMatch(/amount: must be a positive integer/);
    expect(await commandRow(fleet.db, "d-bad")).toBeUndefined();
  });
});
