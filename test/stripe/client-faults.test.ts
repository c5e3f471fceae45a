import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PermanentError, TransientError } from "../../lib/domain/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { stripeRateLimited } from "../../lib/metrics/registry.ts";
import { createStripeApi, type StripeApi } from "../../lib/stripe/client.ts";
import { createRequestBudget } from "../../lib/stripe/request-budget.ts";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";

// The Stripe client against the emulator's bad answers: a patient call (reconciliation) rides out
// 500s, bodies that are not JSON, answers that never come and 429 storms, logging each retry; an
// ordinary call classifies them as transient for the delayed ladder, and a 4xx as permanent.

const key = "sk_test_client_faults";
let emulator: StripeEmulator;
const logLines: Array<Record<string, unknown>> = [];
const log = createLogger({
  level: "warn",
  name: "test",
  destination: { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
});
let stripe: StripeApi;

const listEvents = (api: StripeApi, patient: boolean) =>
  api.call("events.list", (client) => client.events.list({ limit: 3 }), { priority: "background", patient });

beforeAll(async () => {
  emulator = await startStripeEmulator({ apiKey: key });
  stripe = createStripeApi({
    secretKey: key,
    apiUrl: emulator.url,
    log,
    timeoutMs: 300,
    budget: createRequestBudget(50),
    patientBackoff: { baseMs: 20, maxMs: 200 },
  });
  const seed = createStripeApi({ secretKey: key, apiUrl: emulator.url, log });
  await seed.call("customers.create", (client) => client.customers.create({ email: "a@example.com" }));
});
afterAll(() => emulator.close());
beforeEach(() => {
  logLines.length = 0;
  emulator.setFaults({});
});

const injected = () => emulator.requests().filter((r) => r.injectedFault && r.path === "/v1/events");

describe("a patient call", () => {
  it("is retried through 500, malformed JSON and a timeout, logging each, and then answers", async () => {
    emulator.setFaults({
      paths: "^/v1/events",
      failNext: [
        { status: 500, count: 2 },
        { status: "malformed", count: 2 },
        { status: "hang", count: 1 },
      ],
    });
    const before = injected().length;
    const page = await listEvents(stripe, true);
    expect(page.data.map((event) => event.type)).toEqual(["customer.created"]);
    expect(injected().length - before).toBe(5);
    const retries = logLines.filter((line) => line.msg === "Stripe call failed; retrying");
    expect(retries.map((line) => line.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(retries.map((line) => String(line.reason))).toEqual([
      expect.stringMatching(/Stripe answered 500/),
      expect.stringMatching(/Stripe answered 500/),
      expect.stringMatching(/unreadable answer from Stripe: Invalid JSON/),
      expect.stringMatching(/unreadable answer from Stripe: Invalid JSON/),
      expect.stringMatching(/cannot reach Stripe/),
    ]);
  });

  it("rides out a 429 storm, backing off and counting every 429", async () => {
    const counted = async () =>
      (await stripeRateLimited.get()).values.find((v) => v.labels.priority === "background")?.value ?? 0;
    const before = await counted();
    emulator.setFaults({ paths: "^/v1/events", failNext: [{ status: 429, count: 8, retryAfterS: 0 }] });
    const started = performance.now();
    const page = await listEvents(stripe, true);
    expect(page.data).toHaveLength(1);
    expect((await counted()) - before).toBe(8);
    // 20, 40, 80, 160, then 200 ms each: the storm slowed the call down
    expect(performance.now() - started).toBeGreaterThanOrEqual(800);
  });

  it("honours Retry-After", async () => {
    emulator.setFaults({ paths: "^/v1/events", failNext: [{ status: 429, count: 1, retryAfterS: 1 }] });
    const started = performance.now();
    await listEvents(stripe, true);
    // capped by patientBackoff.maxMs (200) in this test; the default cap is a minute
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(logLines.at(-1)).toMatchObject({ code: "stripe_rate_limited", retryInMs: 200 });
  });

  it("stops waiting when its signal aborts", async () => {
    emulator.setFaults({ paths: "^/v1/events", failRate: 1, failRateStatus: 503 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error("stopping")), 150);
    await expect(
      stripe.call("events.list", (client) => client.events.list({ limit: 3 }), {
        priority: "background",
        patient: true,
        signal: abort.signal,
      }),
    ).rejects.toThrow();
    expect(abort.signal.aborted).toBe(true);
  });

  it("gives up at once on a permanent error", async () => {
    const wrong = createStripeApi({ secretKey: "sk_test_wrong", apiUrl: emulator.url, log });
    await expect(listEvents(wrong, true)).rejects.toBeInstanceOf(PermanentError);
  });
});

describe("an ordinary call", () => {
  it("classifies a malformed answer and a timeout as transient after its quick retries", async () => {
    const quick = createStripeApi({ secretKey: key, apiUrl: emulator.url, log, timeoutMs: 300, retries: 1 });
    emulator.setFaults({ paths: "^/v1/events", failNext: [{ status: "malformed", count: 2 }] });
    await expect(listEvents(quick, false)).rejects.toMatchObject({
      code: "stripe_unavailable",
      message: expect.stringMatching(/unreadable answer/),
    });
    emulator.setFaults({ paths: "^/v1/events", failNext: [{ status: "hang", count: 2 }] });
    const timedOut = await listEvents(quick, false).catch((error: unknown) => error);
    expect(timedOut).toBeInstanceOf(TransientError);
  });
});
