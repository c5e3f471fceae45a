import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BillingClient, connectBillingClient } from "../../lib/client/index.ts";
import { waitFor } from "../helpers/wait.ts";
import { balanceDrift, balanceOf, commandRow, resultField, stripeCalls } from "./command-harness.ts";
import { type Fleet, startFleet } from "./fleet-harness.ts";

// END-TO-END: deposit.create (client) → worker → the emulator confirms the PaymentIntent and sends
// the signed payment_intent.succeeded webhook to the real ingester → billing_queue → worker →
// the balance is credited, once, even when the command is sent twice and every webhook arrives
// twice; payment.refund → charge.refunded → debited once.

let fleet: Fleet;
let billing: BillingClient;

beforeAll(async () => {
  fleet = await startFleet({ workers: 2, web: true });
  billing = await connectBillingClient({ url: fleet.vhost.url, service: "e2e-deposit", timeoutMs: 5000 });
});
afterAll(async () => {
  await billing?.close();
  await fleet?.stop();
});

const credits = (accountId: string) =>
  fleet.db
    .selectFrom("ledger_entries")
    .selectAll()
    .where("account_id", "=", accountId)
    .where("kind", "=", "deposit_credit")
    .execute();

describe("a deposit through the webhook", () => {
  it("credits the balance once: command sent twice, every webhook delivered twice", async () => {
    fleet.emulator.setDelivery({ duplicateRate: 1 });
    const command = {
      id: "w-dep",
      type: "deposit.create",
      accountId: "acct-w",
      amount: 6400,
      currency: "usd",
    } as const;
    await billing.send(command);
    await billing.send(command);
    await waitFor(async () => (await balanceOf(fleet.db, "acct-w", "usd")) === 6400, "the credit", 20_000);
    await fleet.emulator.deliverPending();
    const paymentIntentId = resultField(await commandRow(fleet.db, "w-dep"), "paymentIntentId");
    // every delivery of payment_intent.succeeded reached the worker (twice each), and was applied once
    await waitFor(
      async () =>
        (
          await fleet.db
            .selectFrom("stripe_events")
            .select("type")
            .where("type", "=", "payment_intent.succeeded")
            .execute()
        ).length === 1,
      "the event audited",
      10_000,
    );
    expect(fleet.emulator.deliveries().filter((d) => d.type === "payment_intent.succeeded")).toMatchObject([
      { state: "delivered", deliveries: 2 },
    ]);
    expect(stripeCalls(fleet.emulator, "/v1/payment_intents", "POST")).toHaveLength(1);
    expect(await credits("acct-w")).toMatchObject([{ amount: 6400, source_id: paymentIntentId }]);
    expect(await balanceOf(fleet.db, "acct-w", "usd")).toBe(6400);

    await billing.send({ id: "w-ref", type: "payment.refund", paymentIntentId, amount: 400 });
    await waitFor(
      async () => (await balanceOf(fleet.db, "acct-w", "usd")) === 6000,
      "the refund debit",
      20_000,
    );
    await fleet.emulator.deliverPending();
    expect(await balanceOf(fleet.db, "acct-w", "usd")).toBe(6000);
    expect(await balanceDrift(fleet.db)).toEqual([]);
  });
});
