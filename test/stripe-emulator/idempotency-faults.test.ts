import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";
import { control, stripeClient } from "./helpers.ts";

let emulator: StripeEmulator;
let stripe: Stripe;

beforeAll(async () => {
  emulator = await startStripeEmulator();
  stripe = stripeClient(emulator);
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

const paymentIntentPosts = () =>
  emulator
    .requests()
    .filter((request) => request.method === "POST" && request.path === "/v1/payment_intents");

describe("idempotency", () => {
  // The fleet's exactly-once deposit rests on this: a resent command makes no second PaymentIntent.
  it("replays the stored response for the same key and params, with no second effect", async () => {
    const params = { amount: 1000, currency: "usd", confirm: true, metadata: { account_id: "acct_1" } };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: "cmd-1:pi" });
    const eventsAfterFirst = emulator.events().length;
    const second = await stripe.paymentIntents.create(params, { idempotencyKey: "cmd-1:pi" });
    expect(second).toEqual(first);
    expect(second.lastResponse.headers["idempotent-replayed"]).toBe("true");
    expect(first.lastResponse.headers["idempotent-replayed"]).toBeUndefined();
    expect(emulator.events().length).toBe(eventsAfterFirst);
    expect(paymentIntentPosts().map((request) => request.replayed)).toEqual([false, true]);
    expect(paymentIntentPosts()[0]).toMatchObject({
      idempotencyKey: "cmd-1:pi",
      params: { amount: "1000", currency: "usd", confirm: "true", metadata: { account_id: "acct_1" } },
      status: 200,
    });
  });

  it("treats params in another key order as the same request", async () => {
    const a = await stripe.customers.create(
      { email: "x@example.com", name: "X" },
      { idempotencyKey: "k-order" },
    );
    const b = await stripe.customers.create(
      { name: "X", email: "x@example.com" },
      { idempotencyKey: "k-order" },
    );
    expect(b.id).toBe(a.id);
  });

  it("replays a 402 decline too, without a second PaymentIntent", async () => {
    const params = { amount: 500, currency: "usd", confirm: true, payment_method: "pm_card_chargeDeclined" };
    const first = await stripe.paymentIntents
      .create(params, { idempotencyKey: "decline" })
      .catch((e: unknown) => e);
    const second = await stripe.paymentIntents
      .create(params, { idempotencyKey: "decline" })
      .catch((e: unknown) => e);
    expect(first).toMatchObject({ statusCode: 402, code: "card_declined" });
    expect(second).toMatchObject({ statusCode: 402, code: "card_declined" });
    const created = emulator.events().filter((event) => event.type === "payment_intent.created");
    expect(created).toHaveLength(1);
  });

  // Same id, different fields must be caught by Stripe too (idempotency_error), never executed.
  it("refuses the same key with other params: 400 idempotency_error, nothing done", async () => {
    await stripe.paymentIntents.create({ amount: 1000, currency: "usd" }, { idempotencyKey: "k-conflict" });
    const error = await stripe.paymentIntents
      .create({ amount: 2000, currency: "usd" }, { idempotencyKey: "k-conflict" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error).toMatchObject({ statusCode: 400, type: "StripeIdempotencyError" });
    expect((error as Error).message).toMatch(
      /^Keys for idempotent requests can only be used with the same parameters they were first used with/,
    );
    expect(emulator.events().filter((event) => event.type === "payment_intent.created")).toHaveLength(1);
  });

  it("refuses the same key on another endpoint", async () => {
    await stripe.customers.create({}, { idempotencyKey: "k-endpoint" });
    const error = await stripe.paymentIntents
      .create({ amount: 100, currency: "usd" }, { idempotencyKey: "k-endpoint" })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ statusCode: 400, rawType: "idempotency_error" });
  });

  it("scopes keys per API key, like Stripe", async () => {
    const other = stripeClient(emulator, "sk_test_other_account");
    const mine = await stripe.customers.create({}, { idempotencyKey: "k-scope" });
    const theirs = await other.customers.create({}, { idempotencyKey: "k-scope" });
    expect(theirs.id).not.toBe(mine.id);
  });

  // Stripe saves nothing when validation fails, so fixing the cause and retrying the command works.
  it("does not keep validation failures: a corrected retry with the same key runs", async () => {
    const bad = await stripe.subscriptions
      .create({ customer: "cus_unknown", items: [{ price: "price_x" }] }, { idempotencyKey: "k-fix" })
      .catch((caught: unknown) => caught);
    expect(bad).toMatchObject({ statusCode: 400, code: "resource_missing" });
    const customer = await stripe.customers.create({});
    const fixed = await stripe.subscriptions.create(
      { customer: customer.id, items: [{ price: "price_x" }] },
      { idempotencyKey: "k-fix" },
    );
    expect(fixed.status).toBe("active");
  });
});

describe("faults", () => {
  // Injected before any effect: the retry with the same key is the one and only execution.
  it("fails the next request with a 500, then the retry with the same key succeeds once", async () => {
    emulator.setFaults({ failNext: [{ status: 500, count: 1 }] });
    const params = { amount: 1000, currency: "usd", confirm: true };
    const error = await stripe.paymentIntents
      .create(params, { idempotencyKey: "k-fault" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(error).toMatchObject({ statusCode: 500 });
    expect(emulator.events()).toEqual([]);
    const retried = await stripe.paymentIntents.create(params, { idempotencyKey: "k-fault" });
    expect(retried.status).toBe("succeeded");
    const replayed = await stripe.paymentIntents.create(params, { idempotencyKey: "k-fault" });
    expect(replayed.id).toBe(retried.id);
    expect(emulator.events().filter((event) => event.type === "payment_intent.created")).toHaveLength(1);
    expect(
      paymentIntentPosts().map((request) => [request.status, request.injectedFault, request.replayed]),
    ).toEqual([
      [500, true, false],
      [200, false, false],
      [200, false, true],
    ]);
  });

  it("answers 429 with Retry-After, in order, for the counted requests", async () => {
    emulator.setFaults({
      failNext: [
        { status: 429, count: 2, retryAfterS: 2 },
        { status: 503, count: 1 },
      ],
    });
    const first = await stripe.customers.create({}).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect((first as Stripe.errors.StripeError).headers?.["retry-after"]).toBe("2");
    await expect(stripe.customers.create({})).rejects.toMatchObject({ statusCode: 429 });
    await expect(stripe.customers.create({})).rejects.toMatchObject({ statusCode: 503 });
    await expect(stripe.customers.create({})).resolves.toMatchObject({ object: "customer" });
  });

  it("limits faults to paths matching a regex, with a seeded failure rate", async () => {
    emulator.setFaults({ failRate: 1, paths: "^/v1/customers" });
    await expect(stripe.customers.create({})).rejects.toMatchObject({ statusCode: 500 });
    await expect(stripe.paymentIntents.create({ amount: 100, currency: "usd" })).resolves.toMatchObject({
      object: "payment_intent",
    });
  });

  // What the reconciler must survive besides error statuses: a 200 that is not JSON, and no answer.
  it("answers malformed JSON, or nothing until the client gives up", async () => {
    emulator.setFaults({
      failNext: [
        { status: "malformed", count: 1 },
        { status: "hang", count: 1 },
      ],
    });
    const malformed = await fetch(`${emulator.url}/v1/events`, {
      headers: { authorization: "Bearer sk_test_x" },
    });
    expect(malformed.status).toBe(200);
    await expect(malformed.clone().json()).rejects.toThrow();
    const hung = await fetch(`${emulator.url}/v1/events`, {
      headers: { authorization: "Bearer sk_test_x" },
      signal: AbortSignal.timeout(300),
    }).catch((error: unknown) => error);
    expect(hung).toMatchObject({ name: "TimeoutError" });
    const after = await fetch(`${emulator.url}/v1/events`, {
      headers: { authorization: "Bearer sk_test_x" },
    });
    expect(after.status).toBe(200);
    expect(
      emulator
        .requests()
        .filter((r) => r.injectedFault)
        .map((r) => r.status),
    ).toEqual(expect.arrayContaining([200, 0]));
  });

  it("is switched at runtime through POST /_emulator/faults, which validates the body", async () => {
    const set = await control<{ faults: unknown }>(emulator, "POST", "/_emulator/faults", {
      failNext: [{ status: 500, count: 1 }],
    });
    expect(set.status).toBe(200);
    await expect(stripe.customers.create({})).rejects.toMatchObject({ statusCode: 500 });
    await expect(stripe.customers.create({})).resolves.toMatchObject({ object: "customer" });
    const bad = await control(emulator, "POST", "/_emulator/faults", {
      failNext: [{ status: 418, count: 1 }],
    });
    expect(bad.status).toBe(400);
  });
});

describe("authentication and routing", () => {
  it("answers 401 without a key and 404 for an unknown URL, in Stripe's error shape", async () => {
    const anonymous = await fetch(`${emulator.url}/v1/customers`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { type: "invalid_request_error" } });
    const unknown = await fetch(`${emulator.url}/v1/unicorns`, {
      headers: { authorization: "Bearer sk_test_x" },
    });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(
      /Unrecognized request URL/,
    );
  });

  it("requires the configured key when apiKey is set", async () => {
    const strict = await startStripeEmulator({ apiKey: "sk_test_right" });
    try {
      const error = await stripeClient(strict, "sk_test_wrong")
        .customers.create({})
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
      await expect(stripeClient(strict, "sk_test_right").customers.create({})).resolves.toMatchObject({
        object: "customer",
      });
    } finally {
      await strict.close();
    }
  });

  it("lists recorded requests at GET /_emulator/requests", async () => {
    await stripe.customers.create({ email: "r@example.com" });
    const { json } = await control<{ data: Array<{ method: string; path: string; params: unknown }> }>(
      emulator,
      "GET",
      "/_emulator/requests",
    );
    expect(json.data).toMatchObject([
      { method: "POST", path: "/v1/customers", params: { email: "r@example.com" } },
    ]);
  });
});
