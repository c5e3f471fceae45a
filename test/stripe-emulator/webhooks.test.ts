import Stripe from "stripe";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DeliveryOptions } from "../../ops/stripe-emulator/delivery-options.ts";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";
import { control, startReceiver, stripeClient, type WebhookReceiver } from "./helpers.ts";

const secret = "whsec_test_emulator_secret";
let receiver: WebhookReceiver;
let emulator: StripeEmulator;
let stripe: Stripe;

async function start(delivery: DeliveryOptions = {}): Promise<void> {
  emulator = await startStripeEmulator({
    webhookUrl: receiver.url,
    webhookSecret: secret,
    delivery: { retryBaseMs: 5, ...delivery },
  });
  stripe = stripeClient(emulator);
}

async function createCustomers(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await stripe.customers.create({ metadata: { n: String(i) } });
}

beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await emulator.close();
  await receiver.close();
});

describe("webhook delivery", () => {
  // The ingester verifies with stripe.webhooks.constructEvent: the emulator's signature must pass it.
  it("signs the exact event JSON so stripe.webhooks.constructEvent accepts it", async () => {
    await start();
    await stripe.customers.create({ email: "signed@example.com" });
    await emulator.deliverPending();
    expect(receiver.received).toHaveLength(1);
    const [delivery] = receiver.received;
    const event = new Stripe("sk_test_x").webhooks.constructEvent(
      delivery?.body ?? "",
      delivery?.signature ?? "",
      secret,
    );
    expect(event.type).toBe("customer.created");
    expect(event.id).toBe(emulator.events()[0]?.id);
    expect(delivery?.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    // The listed event is byte-for-byte what was delivered (reconcile enqueues what it lists).
    const listed = await fetch(`${emulator.url}/v1/events/${event.id}`, {
      headers: { authorization: "Bearer sk_test_x" },
    });
    expect(await listed.text()).toBe(delivery?.body);
    expect(() =>
      new Stripe("sk_test_x").webhooks.constructEvent(
        delivery?.body ?? "",
        delivery?.signature ?? "",
        "whsec_other",
      ),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);
    expect(emulator.deliveries()).toMatchObject([
      { state: "delivered", attempts: 1, deliveries: 1, lastStatus: 200 },
    ]);
  });

  // Nothing that reached the ingester is lost: a non-2xx is retried until it is accepted.
  it("retries non-2xx answers with backoff until a 2xx", async () => {
    await start();
    let calls = 0;
    receiver.status = () => (++calls <= 2 ? 503 : 200);
    await stripe.customers.create({});
    await emulator.deliverPending();
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((delivery) => delivery.eventId)).size).toBe(1);
    expect(emulator.deliveries()).toMatchObject([
      { state: "delivered", attempts: 3, deliveries: 1, lastStatus: 200 },
    ]);
  });

  it("gives up after maxAttempts and says why", async () => {
    await start({ maxAttempts: 3 });
    receiver.status = () => 500;
    await stripe.customers.create({});
    await emulator.deliverPending();
    expect(receiver.received).toHaveLength(3);
    expect(emulator.deliveries()).toMatchObject([{ state: "failed", attempts: 3, lastStatus: 500 }]);
  });

  it("records a connection failure as an attempt with the error", async () => {
    await receiver.close();
    await start({ maxAttempts: 2 });
    await stripe.customers.create({});
    await emulator.deliverPending();
    expect(emulator.deliveries()).toMatchObject([{ state: "failed", attempts: 2, lastStatus: null }]);
    expect(emulator.deliveries()[0]?.lastError).toMatch(/ECONNREFUSED/);
    receiver = await startReceiver(); // afterEach closes it
  });

  // Duplicates: the same event id arrives twice; the fleet's inbox must absorb it.
  it("delivers every event twice at duplicateRate 1, and a seeded share at 0.5", async () => {
    await start({ duplicateRate: 1 });
    await createCustomers(3);
    await emulator.deliverPending();
    expect(receiver.received).toHaveLength(6);
    for (const event of emulator.events()) {
      expect(receiver.received.filter((delivery) => delivery.eventId === event.id)).toHaveLength(2);
    }
    expect(emulator.deliveries().every((record) => record.deliveries === 2)).toBe(true);

    emulator.reset();
    receiver.received.length = 0;
    emulator.setDelivery({ duplicateRate: 0.5, seed: 7 });
    await createCustomers(40);
    await emulator.deliverPending();
    const extra = receiver.received.length - 40;
    expect(extra).toBeGreaterThan(5);
    expect(extra).toBeLessThan(35);
  });

  // Events emitted while delivery is off (ingester down) are recorded for reconcile, never sent.
  it("records but does not send events while delivery is off; sends new ones once it is on", async () => {
    await start({ concurrency: 1 });
    emulator.setDelivery({ enabled: false });
    await createCustomers(5);
    expect(emulator.events()).toHaveLength(5);
    expect(emulator.events().every((event) => event.pending_webhooks === 0)).toBe(true);
    await emulator.deliverPending();
    expect(receiver.received).toHaveLength(0);
    expect(emulator.deliveries().every((record) => record.state === "skipped")).toBe(true);

    emulator.setDelivery({ enabled: true });
    await createCustomers(5);
    await emulator.deliverPending();
    // One worker and no reorder window: delivered in emission order.
    const emitted = emulator
      .events()
      .slice(5)
      .map((event) => event.id);
    expect(receiver.received.map((delivery) => delivery.eventId)).toEqual(emitted);
  });

  // Order is not guaranteed by Stripe: the reorder switch makes sure the fleet copes.
  it("shuffles queued events within the reorder window but delivers each exactly once", async () => {
    const window = 5;
    await start({ concurrency: 1, reorderWindow: window, seed: 3, delayMs: [2, 2] });
    await Promise.all(Array.from({ length: 30 }, () => stripe.customers.create({})));
    await emulator.deliverPending();
    const emitted = emulator.events().map((event) => event.id);
    const received = receiver.received.map((delivery) => delivery.eventId);
    expect([...received].sort()).toEqual([...emitted].sort());
    expect(received).not.toEqual(emitted);
    // An event is picked only from the first `window` queued, so it never overtakes more than window - 1.
    for (const [index, id] of received.entries()) {
      expect(emitted.indexOf(id) - index).toBeLessThanOrEqual(window - 1);
    }
  });

  it("is switched and flushed through /_emulator/delivery, /deliver and /deliveries", async () => {
    await start();
    const off = await control<{ delivery: DeliveryOptions }>(emulator, "POST", "/_emulator/delivery", {
      enabled: false,
    });
    expect(off.json.delivery.enabled).toBe(false);
    await createCustomers(2);
    const on = await control(emulator, "POST", "/_emulator/delivery", { enabled: true, delayMs: [5, 10] });
    expect(on.status).toBe(200);
    await createCustomers(2);
    const flushed = await control<{ stats: { delivered: number; skipped: number } }>(
      emulator,
      "POST",
      "/_emulator/deliver",
    );
    expect(flushed.json.stats).toMatchObject({ delivered: 2, skipped: 2 });
    const log = await control<{ data: Array<{ state: string }> }>(emulator, "GET", "/_emulator/deliveries");
    expect(log.json.data.map((record) => record.state)).toEqual([
      "skipped",
      "skipped",
      "delivered",
      "delivered",
    ]);
    const bad = await control(emulator, "POST", "/_emulator/delivery", { duplicateRate: 2 });
    expect(bad.status).toBe(400);
  });

  // An endpoint that loses webhooks: the dropped ones are never sent, yet GET /v1/events lists them.
  it("drops a seeded fraction of webhooks for good, and still lists them", async () => {
    await start({ dropRate: 0.5, seed: 3 });
    await createCustomers(20);
    await emulator.deliverPending();
    const log = emulator.deliveries();
    const dropped = log.filter((d) => d.state === "dropped");
    expect(dropped.length).toBeGreaterThan(3);
    expect(dropped.length).toBeLessThan(17);
    expect(dropped.every((d) => d.attempts === 0 && d.deliveries === 0)).toBe(true);
    const received = new Set(receiver.received.map((r) => r.eventId));
    for (const d of log) expect(received.has(d.eventId)).toBe(d.state !== "dropped");
    const listed = await stripe.events.list({ limit: 100 });
    expect(listed.data).toHaveLength(20);
    const stats = await control<{ stats: { dropped: number; delivered: number } }>(
      emulator,
      "GET",
      "/_emulator/deliveries",
    );
    expect(stats.json.stats).toMatchObject({ dropped: dropped.length, delivered: 20 - dropped.length });
    // switched off at runtime: nothing more is lost
    emulator.setDelivery({ dropRate: 0 });
    await createCustomers(5);
    await emulator.deliverPending();
    expect(emulator.deliveries().filter((d) => d.state === "dropped")).toHaveLength(dropped.length);
    await expect(control(emulator, "POST", "/_emulator/delivery", { dropRate: 2 })).resolves.toMatchObject({
      status: 400,
    });
  });
});
