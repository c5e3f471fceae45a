import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TransientError } from "../../lib/domain/errors.ts";
import { idempotencyKey } from "../../lib/stripe/client.ts";
import { testSecrets } from "../helpers/config.ts";
import {
  balanceOf,
  type CommandHarness,
  commandEvents,
  commandInbound,
  commandRow,
  resultField,
  startCommandHarness,
  stripeCalls,
} from "./command-harness.ts";

// Stripe failing briefly (5xx, 429) is retried with the same Idempotency-Key until it works; Stripe
// refusing a request (4xx) ends the command as failed with Stripe's message, not as a dead letter.

let h: CommandHarness;

beforeAll(async () => {
  h = await startCommandHarness();
});
beforeEach(() => h.emulator.setFaults({}));
afterAll(() => h.close());

const deposit = (id: string) =>
  ({ id, type: "deposit.create", accountId: `acct-${id}`, amount: 900, currency: "usd" }) as const;
const attempts = (id: string) =>
  stripeCalls(h.emulator, "/v1/payment_intents", "POST")
    .filter((r) => r.idempotencyKey === idempotencyKey(id, "payment-intent"))
    .map((r) => r.status);

describe("transient Stripe failures", () => {
  it("retries injected 500s in-process to success, one PaymentIntent", async () => {
    h.emulator.setFaults({ failNext: [{ status: 500, count: 2 }], paths: "^/v1/payment_intents" });
    expect(await h.apply(commandInbound(deposit("f500")))).toBe("applied");
    expect(attempts("f500")).toEqual([500, 500, 200]);
    expect(await commandRow(h.db, "f500")).toMatchObject({ status: "succeeded" });
  });

  it("retries injected 429s after their Retry-After, to success", async () => {
    h.emulator.setFaults({
      failNext: [{ status: 429, count: 2, retryAfterS: 1 }],
      paths: "^/v1/payment_intents",
    });
    const started = Date.now();
    expect(await h.apply(commandInbound(deposit("f429")))).toBe("applied");
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(attempts("f429")).toEqual([429, 429, 200]);
    expect(await commandRow(h.db, "f429")).toMatchObject({ status: "succeeded" });
  });

  // Longer than the quick retries: the error goes back to the consumer (whose delayed ladder
  // redelivers the message) with nothing committed; the redelivery then succeeds, once.
  it("rethrows a lasting outage as transient with nothing committed; the redelivery succeeds", async () => {
    h.emulator.setFaults({ failNext: [{ status: 503, count: 4 }], paths: "^/v1/payment_intents" });
    const error = await h.apply(commandInbound(deposit("outage"))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: "stripe_unavailable" });
    expect(await commandRow(h.db, "outage")).toBeUndefined();
    expect(await h.db.selectFrom("processed_messages").selectAll().execute()).not.toContainEqual(
      expect.objectContaining({ message_id: expect.stringContaining("outage") }),
    );

    expect(await h.apply(commandInbound(deposit("outage")))).toBe("applied");
    expect(attempts("outage")).toEqual([503, 503, 503, 503, 200]);
    expect(await commandRow(h.db, "outage")).toMatchObject({ status: "succeeded" });
  });

  it("leaves a long Retry-After to the consumer's delayed retries", async () => {
    h.emulator.setFaults({
      failNext: [{ status: 429, count: 1, retryAfterS: 60 }],
      paths: "^/v1/payment_intents",
    });
    const error = await h.apply(commandInbound(deposit("slow"))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: "stripe_rate_limited", retryAfterMs: 60_000 });
    expect(attempts("slow")).toEqual([429]);
  });
});

describe("Stripe refusing a request", () => {
  it("fails the command with Stripe's message (400), applied and acknowledged, not dead-lettered", async () => {
    const command = {
      id: "bad-price",
      type: "subscription.create",
      accountId: "acct-bp",
      priceId: "price_missing_plan",
    } as const;
    expect(await h.apply(commandInbound(command))).toBe("applied");
    const row = await commandRow(h.db, "bad-price");
    expect(row).toMatchObject({
      status: "failed",
      result: null,
      error: {
        code: "stripe_request_failed",
        message: expect.stringContaining("price_missing_plan"),
        stripe: { status: 400, type: "invalid_request_error", code: "resource_missing" },
      },
    });
    expect((await commandEvents(h.db, "bad-price")).map((e) => [e.type, e.body.data.error])).toEqual([
      ["command.failed", row?.error],
    ]);
  });

  // The account's customer pays with a declining test card: Stripe answers 402 card_error, the
  // command fails with Stripe's words and decline code, and nothing is credited.
  it("fails a deposit whose card is declined (402) with Stripe's message", async () => {
    await h.apply(
      commandInbound({ id: "declined-customer", type: "customer.ensure", accountId: "acct-declined" }),
    );
    const customerId = resultField(await commandRow(h.db, "declined-customer"), "customerId");
    const updated = await fetch(`${h.emulator.url}/v1/customers/${customerId}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${testSecrets.stripeKey}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "invoice_settings[default_payment_method]=pm_card_chargeDeclined",
    });
    expect(updated.status).toBe(200);
    await h.apply(
      commandInbound({
        id: "declined-deposit",
        type: "deposit.create",
        accountId: "acct-declined",
        amount: 500,
        currency: "usd",
      }),
    );
    const row = await commandRow(h.db, "declined-deposit");
    expect(row).toMatchObject({
      status: "failed",
      error: {
        code: "stripe_request_failed",
        message: "Your card was declined.",
        stripe: { status: 402, type: "card_error", code: "card_declined", declineCode: "generic_decline" },
      },
    });
    expect(await balanceOf(h.db, "acct-declined", "usd")).toBeUndefined();
  });

  it("fails a refund larger than the payment with Stripe's message", async () => {
    await h.apply(commandInbound(deposit("to-refund")));
    const paymentIntentId = resultField(await commandRow(h.db, "to-refund"), "paymentIntentId");
    await h.apply(
      commandInbound({ id: "refund-too-much", type: "payment.refund", paymentIntentId, amount: 901 }),
    );
    expect((await commandRow(h.db, "refund-too-much"))?.error).toEqual({
      code: "stripe_request_failed",
      message: "Refund amount (901) is greater than unrefunded amount on charge (900)",
      stripe: { status: 400, type: "invalid_request_error", code: "amount_too_large" },
    });
  });
});
