import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";
import { stripeClient } from "./helpers.ts";

// reconcile pages GET /v1/events to find what the ingester missed: pages must be complete, newest
// first, without overlaps, and the time bounds must hold.

let emulator: StripeEmulator;
let stripe: Stripe;
let secondStart: number;

beforeAll(async () => {
  // Delivery is not configured: events are still recorded and listed.
  emulator = await startStripeEmulator();
  stripe = stripeClient(emulator);
  for (let i = 0; i < 12; i++) await stripe.customers.create({ metadata: { n: String(i) } });
  // The next events land in a later second, so created[gte] has something to split.
  secondStart = Math.floor(Date.now() / 1000) + 1;
  await new Promise((resolve) => setTimeout(resolve, secondStart * 1000 - Date.now() + 5));
  await stripe.paymentIntents.create({ amount: 100, currency: "usd", confirm: true });
});
afterAll(() => emulator.close());

const allIdsNewestFirst = () =>
  emulator
    .events()
    .map((event) => event.id)
    .reverse();

describe("GET /v1/events", () => {
  it("lists newest first in Stripe's list shape", async () => {
    const page = await stripe.events.list({ limit: 3 });
    expect(page.object).toBe("list");
    expect(page.url).toBe("/v1/events");
    expect(page.has_more).toBe(true);
    expect(page.data.map((event) => event.id)).toEqual(allIdsNewestFirst().slice(0, 3));
    expect(page.data[0]?.type).toBe("payment_intent.succeeded");
  });

  it("pages with starting_after without gaps or overlaps, to has_more false", async () => {
    const seen: string[] = [];
    let startingAfter: string | undefined;
    for (;;) {
      const page = await stripe.events.list({
        limit: 4,
        ...(startingAfter ? { starting_after: startingAfter } : {}),
      });
      seen.push(...page.data.map((event) => event.id));
      if (!page.has_more) break;
      startingAfter = page.data.at(-1)?.id;
    }
    expect(seen).toEqual(allIdsNewestFirst());
    const auto = await stripe.events.list({ limit: 5 }).autoPagingToArray({ limit: 100 });
    expect(auto.map((event) => event.id)).toEqual(allIdsNewestFirst());
  });

  it("pages backwards with ending_before", async () => {
    const ids = allIdsNewestFirst();
    const page = await stripe.events.list({ limit: 2, ending_before: ids[5] as string });
    expect(page.data.map((event) => event.id)).toEqual(ids.slice(3, 5));
    expect(page.has_more).toBe(true);
  });

  it("filters by created[gte] and created[lte] (inclusive)", async () => {
    const recent = await stripe.events.list({ created: { gte: secondStart }, limit: 100 });
    expect(recent.data.map((event) => event.type)).toEqual([
      "payment_intent.succeeded",
      "charge.succeeded",
      "payment_intent.created",
    ]);
    expect(recent.has_more).toBe(false);
    const older = await stripe.events.list({ created: { lte: secondStart - 1 }, limit: 100 });
    expect(older.data).toHaveLength(12);
    expect(older.data.every((event) => event.type === "customer.created")).toBe(true);
    const none = await stripe.events.list({ created: { gt: secondStart + 3600 } });
    expect(none.data).toEqual([]);
  });

  it("filters by type, with a trailing wildcard, and by types[]", async () => {
    const exact = await stripe.events.list({ type: "charge.succeeded" });
    expect(exact.data.map((event) => event.type)).toEqual(["charge.succeeded"]);
    const wildcard = await stripe.events.list({ type: "payment_intent.*" });
    expect(wildcard.data.map((event) => event.type)).toEqual([
      "payment_intent.succeeded",
      "payment_intent.created",
    ]);
    const several = await stripe.events.list({ types: ["charge.succeeded", "payment_intent.created"] });
    expect(several.data).toHaveLength(2);
  });

  it("retrieves one event by id and refuses bad cursors and limits", async () => {
    const [newest] = allIdsNewestFirst();
    const event = await stripe.events.retrieve(newest as string);
    expect(event).toMatchObject({
      id: newest,
      object: "event",
      livemode: false,
      type: "payment_intent.succeeded",
    });
    await expect(stripe.events.retrieve("evt_nope")).rejects.toMatchObject({ statusCode: 404 });
    await expect(stripe.events.list({ starting_after: "evt_nope" })).rejects.toMatchObject({
      statusCode: 400,
      code: "resource_missing",
    });
    await expect(stripe.events.list({ limit: 101 })).rejects.toMatchObject({
      statusCode: 400,
      param: "limit",
    });
  });

  it("stamps events with the request that caused them", async () => {
    const customer = await stripe.customers.create({}, { idempotencyKey: "cmd-42" });
    const event = emulator.events().find((candidate) => candidate.data.object.id === customer.id);
    expect(event?.request.idempotency_key).toBe("cmd-42");
    expect(event?.request.id).toMatch(/^req_/);
    expect(event?.api_version).toBeTruthy();
  });
});
