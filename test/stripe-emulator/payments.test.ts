import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";
import { stripeClient } from "./helpers.ts";

let emulator: StripeEmulator;
let stripe: Stripe;

beforeAll(async () => {
  emulator = await startStripeEmulator({ port: 0 });
  stripe = stripeClient(emulator);
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

const types = () => emulator.events().map((event) => event.type);

describe("customers", () => {
  // The customer.ensure handler relies on metadata round-tripping and customer.created carrying it.
  it("creates, retrieves, updates, lists and searches customers", async () => {
    const created = await stripe.customers.create({
      email: "ada@example.com",
      metadata: { account_id: "acct_1" },
    });
    expect(created).toMatchObject({ object: "customer", email: "ada@example.com", livemode: false });
    expect(created.id).toMatch(/^cus_/);
    expect(created.metadata).toEqual({ account_id: "acct_1" });
    expect(Number.isSafeInteger(created.created)).toBe(true);

    expect((await stripe.customers.retrieve(created.id)).id).toBe(created.id);
    const updated = await stripe.customers.update(created.id, { metadata: { tier: "gold" } });
    expect(updated.metadata).toEqual({ account_id: "acct_1", tier: "gold" });

    await stripe.customers.create({ email: "bob@example.com" });
    const byEmail = await stripe.customers.list({ email: "ada@example.com" });
    expect(byEmail.data.map((customer) => customer.id)).toEqual([created.id]);
    const found = await stripe.customers.search({ query: "metadata['account_id']:'acct_1'" });
    expect(found.data.map((customer) => customer.id)).toEqual([created.id]);

    const [first, second] = emulator.events();
    expect(first?.type).toBe("customer.created");
    expect(first?.data.object.metadata).toEqual({ account_id: "acct_1" });
    expect(second?.type).toBe("customer.updated");
    expect(second?.data.previous_attributes).toEqual({ metadata: { account_id: "acct_1" } });
  });

  it("answers 404 resource_missing for an unknown customer, as a StripeInvalidRequestError", async () => {
    const error = await stripe.customers.retrieve("cus_nope").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 404, code: "resource_missing", param: "id" });
  });
});

describe("payment intents", () => {
  // deposit.create: a confirmed PaymentIntent succeeds and the events say so, with the metadata.
  it("confirms at creation: succeeded, amount_received, a charge, and the events", async () => {
    const customer = await stripe.customers.create({});
    const paymentIntent = await stripe.paymentIntents.create({
      amount: 2500,
      currency: "USD",
      customer: customer.id,
      confirm: true,
      automatic_payment_methods: { enabled: true, allow_redirects: "never" },
      metadata: { account_id: "acct_1", purpose: "deposit" },
    });
    expect(paymentIntent).toMatchObject({
      object: "payment_intent",
      status: "succeeded",
      amount: 2500,
      amount_received: 2500,
      currency: "usd",
      customer: customer.id,
      metadata: { account_id: "acct_1", purpose: "deposit" },
    });
    expect(paymentIntent.latest_charge).toMatch(/^ch_/);
    expect(types()).toEqual([
      "customer.created",
      "payment_intent.created",
      "charge.succeeded",
      "payment_intent.succeeded",
    ]);
    const succeeded = emulator.events().at(-1);
    expect(succeeded?.data.object).toMatchObject({ id: paymentIntent.id, amount_received: 2500 });
    expect((await stripe.paymentIntents.retrieve(paymentIntent.id)).status).toBe("succeeded");
  });

  it("creates unconfirmed, then confirms with pm_card_visa; a second confirm is refused", async () => {
    const created = await stripe.paymentIntents.create({ amount: 700, currency: "eur" });
    expect(created.status).toBe("requires_payment_method");
    const confirmed = await stripe.paymentIntents.confirm(created.id, { payment_method: "pm_card_visa" });
    expect(confirmed).toMatchObject({
      status: "succeeded",
      payment_method: "pm_card_visa",
      amount_received: 700,
    });
    const again = await stripe.paymentIntents.confirm(created.id).catch((caught: unknown) => caught);
    expect(again).toMatchObject({ statusCode: 400, code: "payment_intent_unexpected_state" });
  });

  it("expands latest_charge on request", async () => {
    const paymentIntent = await stripe.paymentIntents.create({
      amount: 100,
      currency: "usd",
      confirm: true,
      expand: ["latest_charge"],
    });
    expect(paymentIntent.latest_charge).toMatchObject({ object: "charge", status: "succeeded", amount: 100 });
  });

  // Stripe 4xx must reach the handler as Stripe's message (a failed command, not a dead letter).
  it("declines pm_card_chargeDeclined with a 402 card_error and payment_intent.payment_failed", async () => {
    const error = await stripe.paymentIntents
      .create({ amount: 900, currency: "usd", confirm: true, payment_method: "pm_card_chargeDeclined" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({
      statusCode: 402,
      type: "StripeCardError",
      code: "card_declined",
      decline_code: "generic_decline",
      message: "Your card was declined.",
    });
    const failed = emulator.events().find((event) => event.type === "payment_intent.payment_failed");
    expect(failed?.data.object).toMatchObject({
      status: "requires_payment_method",
      last_payment_error: { code: "card_declined", type: "card_error" },
    });
  });

  it("validates like Stripe: a missing amount is a 400 parameter_missing", async () => {
    const error = await stripe.paymentIntents
      .create({ currency: "usd" } as Stripe.PaymentIntentCreateParams)
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ statusCode: 400, code: "parameter_missing", param: "amount" });
    expect(emulator.events()).toEqual([]);
  });
});

describe("refunds", () => {
  // charge.refunded debits the credited balance: amount_refunded must be cumulative and name the PI.
  it("refunds partially then fully; charge.refunded carries the cumulative amount", async () => {
    const paymentIntent = await stripe.paymentIntents.create({
      amount: 1000,
      currency: "usd",
      confirm: true,
    });
    const partial = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 300 });
    expect(partial).toMatchObject({
      object: "refund",
      amount: 300,
      status: "succeeded",
      payment_intent: paymentIntent.id,
      charge: paymentIntent.latest_charge,
    });
    expect(partial.id).toMatch(/^re_/);
    const rest = await stripe.refunds.create({ payment_intent: paymentIntent.id });
    expect(rest.amount).toBe(700);

    const refunded = emulator.events().filter((event) => event.type === "charge.refunded");
    expect(refunded.map((event) => event.data.object.amount_refunded)).toEqual([300, 1000]);
    expect(refunded.map((event) => event.data.object.refunded)).toEqual([false, true]);
    expect(refunded[0]?.data.object).toMatchObject({ object: "charge", payment_intent: paymentIntent.id });
    expect(refunded[0]?.data.previous_attributes).toEqual({ amount_refunded: 0, refunded: false });

    const over = await stripe.refunds
      .create({ payment_intent: paymentIntent.id })
      .catch((caught: unknown) => caught);
    expect(over).toMatchObject({ statusCode: 400, code: "charge_already_refunded" });
  });

  it("refuses a refund larger than what is left", async () => {
    const paymentIntent = await stripe.paymentIntents.create({ amount: 500, currency: "usd", confirm: true });
    const error = await stripe.refunds
      .create({ payment_intent: paymentIntent.id, amount: 501 })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ statusCode: 400, code: "amount_too_large" });
  });
});

describe("balance", () => {
  it("answers GET /v1/balance so a health check can prove the key works", async () => {
    const balance = await stripe.balance.retrieve();
    expect(balance.object).toBe("balance");
  });
});
