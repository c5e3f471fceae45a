import type Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";
import { control, stripeClient } from "./helpers.ts";

let emulator: StripeEmulator;
let stripe: Stripe;
let customer: Stripe.Customer;

beforeAll(async () => {
  emulator = await startStripeEmulator();
  stripe = stripeClient(emulator);
});
afterAll(() => emulator.close());
beforeEach(async () => {
  emulator.reset();
  customer = await stripe.customers.create({ email: "sub@example.com" });
});

/** Types of the events emitted since the customer was created. */
const newTypes = () =>
  emulator
    .events()
    .slice(1)
    .map((event) => event.type);

describe("subscriptions", () => {
  // subscription.create: the worker reads status, price and the period end from these events.
  it("creates an active subscription whose first invoice is paid", async () => {
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: "price_pro_2500" }],
      metadata: { account_id: "acct_1" },
    });
    expect(subscription).toMatchObject({ object: "subscription", status: "active", customer: customer.id });
    expect(subscription.id).toMatch(/^sub_/);
    const item = subscription.items.data[0];
    expect(item?.id).toMatch(/^si_/);
    expect(item?.price.id).toBe("price_pro_2500");
    expect(item?.price.unit_amount).toBe(2500);
    expect(item?.current_period_end).toBeGreaterThan(subscription.created + 27 * 86_400);
    expect(newTypes()).toEqual([
      "customer.subscription.created",
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
    ]);
    const invoice = await stripe.invoices.retrieve(subscription.latest_invoice as string);
    expect(invoice).toMatchObject({
      status: "paid",
      amount_due: 2500,
      amount_paid: 2500,
      attempt_count: 1,
      parent: { subscription_details: { subscription: subscription.id } },
    });
    expect((invoice as unknown as { subscription: string }).subscription).toBe(subscription.id);
    // Each event carries the invoice as it was then: draft, open, paid.
    const statuses = emulator
      .events()
      .filter((event) => event.type.startsWith("invoice."))
      .map((event) => event.data.object.status);
    expect(statuses).toEqual(["draft", "open", "paid", "paid"]);
  });

  it("starts trialing without an invoice when trial_period_days is given", async () => {
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: "price_basic" }],
      trial_period_days: 14,
    });
    expect(subscription.status).toBe("trialing");
    expect(subscription.trial_end).toBe((subscription.trial_start ?? 0) + 14 * 86_400);
    expect(subscription.items.data[0]?.price.unit_amount).toBe(1000);
    expect(newTypes()).toEqual(["customer.subscription.created"]);
  });

  // A Stripe 4xx must fail the command with Stripe's message.
  it("answers 400 resource_missing for a price id containing 'missing'", async () => {
    const error = await stripe.subscriptions
      .create({ customer: customer.id, items: [{ price: "price_missing_plan" }] })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      statusCode: 400,
      code: "resource_missing",
      param: "items[0][price]",
      message: "No such price: 'price_missing_plan'",
    });
  });

  it("cancels at period end (updated) and now (deleted); a second cancel is a 404", async () => {
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: "price_x" }],
    });
    const updated = await stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
    expect(updated.cancel_at_period_end).toBe(true);
    expect(updated.cancel_at).toBe(subscription.items.data[0]?.current_period_end);
    const updatedEvent = emulator.events().at(-1);
    expect(updatedEvent?.type).toBe("customer.subscription.updated");
    expect(updatedEvent?.data.previous_attributes).toMatchObject({ cancel_at_period_end: false });

    const canceled = await stripe.subscriptions.cancel(subscription.id);
    expect(canceled.status).toBe("canceled");
    expect(canceled.ended_at).not.toBeNull();
    expect(emulator.events().at(-1)?.type).toBe("customer.subscription.deleted");
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).toBe("canceled");
    const again = await stripe.subscriptions.cancel(subscription.id).catch((caught: unknown) => caught);
    expect(again).toMatchObject({ statusCode: 404, code: "resource_missing" });
  });
});

describe("invoices", () => {
  // invoice.create: items, a draft, finalize → invoice.finalized; pay → paid events.
  it("collects pending items into a draft, finalizes and pays it", async () => {
    const first = await stripe.invoiceItems.create({
      customer: customer.id,
      amount: 1200,
      currency: "usd",
      description: "Setup",
    });
    expect(first.id).toMatch(/^ii_/);
    await stripe.invoiceItems.create({
      customer: customer.id,
      amount: 300,
      currency: "usd",
      description: "Extra",
    });
    const draft = await stripe.invoices.create({
      customer: customer.id,
      auto_advance: false,
      collection_method: "charge_automatically",
      pending_invoice_items_behavior: "include",
    });
    expect(draft).toMatchObject({ object: "invoice", status: "draft", amount_due: 1500, attempt_count: 0 });
    expect(draft.lines.data.map((line) => line.amount)).toEqual([1200, 300]);

    const finalized = await stripe.invoices.finalizeInvoice(draft.id);
    expect(finalized.status).toBe("open");
    expect(finalized.number).toMatch(/-0001$/);
    const paid = await stripe.invoices.pay(draft.id);
    expect(paid).toMatchObject({ status: "paid", amount_paid: 1500, amount_remaining: 0, attempt_count: 1 });
    expect(newTypes()).toEqual([
      "invoiceitem.created",
      "invoiceitem.created",
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
    ]);
    const again = await stripe.invoices.finalizeInvoice(draft.id).catch((caught: unknown) => caught);
    expect(again).toMatchObject({ statusCode: 400 });
  });

  it("adds an item straight to a draft invoice named by `invoice`", async () => {
    const draft = await stripe.invoices.create({ customer: customer.id, currency: "eur" });
    await stripe.invoiceItems.create({
      customer: customer.id,
      amount: 450,
      currency: "eur",
      invoice: draft.id,
    });
    expect((await stripe.invoices.retrieve(draft.id)).amount_due).toBe(450);
  });
});

describe("simulation endpoints", () => {
  type Result = { subscription: Stripe.Subscription; invoice: Stripe.Invoice | null };

  it("renews: the period advances and a new invoice is paid", async () => {
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: "price_x" }],
    });
    const before = emulator.events().length;
    const { status, json } = await control<Result>(
      emulator,
      "POST",
      `/_emulator/subscriptions/${subscription.id}/renew`,
    );
    expect(status).toBe(200);
    expect(json.subscription.items.data[0]?.current_period_start).toBe(
      subscription.items.data[0]?.current_period_end,
    );
    expect(json.invoice).toMatchObject({ status: "paid", billing_reason: "subscription_cycle" });
    expect(
      emulator
        .events()
        .slice(before)
        .map((event) => event.type),
    ).toEqual([
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
      "customer.subscription.updated",
    ]);
  });

  // invoice.payment_failed is applied with attempt_count; the subscription goes past_due, then recovers.
  it("fails a renewal payment twice, then renews by paying the open invoice", async () => {
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: "price_x" }],
    });
    const path = `/_emulator/subscriptions/${subscription.id}`;
    const first = await control<Result>(emulator, "POST", `${path}/fail_payment`);
    expect(first.json.subscription.status).toBe("past_due");
    expect(first.json.invoice).toMatchObject({ status: "open", attempt_count: 1 });
    const second = await control<Result>(emulator, "POST", `${path}/fail_payment`);
    expect(second.json.invoice).toMatchObject({ id: first.json.invoice?.id, attempt_count: 2 });
    const failures = emulator.events().filter((event) => event.type === "invoice.payment_failed");
    expect(failures.map((event) => event.data.object.attempt_count)).toEqual([1, 2]);
    const updates = emulator.events().filter((event) => event.type === "customer.subscription.updated");
    expect(updates.map((event) => event.data.object.status)).toEqual(["past_due"]);

    const renewed = await control<Result>(emulator, "POST", `${path}/renew`);
    expect(renewed.json.subscription.status).toBe("active");
    expect(renewed.json.invoice).toMatchObject({
      id: first.json.invoice?.id,
      status: "paid",
      attempt_count: 3,
    });
  });

  it("ends a trial: trial_will_end, then active with a paid invoice", async () => {
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: "price_x" }],
      trial_period_days: 7,
    });
    const ended = await control<Result>(
      emulator,
      "POST",
      `/_emulator/subscriptions/${subscription.id}/trial_end`,
    );
    expect(ended.json.subscription.status).toBe("active");
    expect(newTypes()).toEqual([
      "customer.subscription.created",
      "customer.subscription.trial_will_end",
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
      "customer.subscription.updated",
    ]);
    const again = await control(emulator, "POST", `/_emulator/subscriptions/${subscription.id}/trial_end`);
    expect(again.status).toBe(400);
  });

  it("renewing a subscription set to cancel at period end deletes it", async () => {
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: "price_x" }],
    });
    await stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
    const { json } = await control<Result>(
      emulator,
      "POST",
      `/_emulator/subscriptions/${subscription.id}/renew`,
    );
    expect(json.subscription.status).toBe("canceled");
    expect(emulator.events().at(-1)?.type).toBe("customer.subscription.deleted");
  });

  it("answers 404 for an unknown subscription", async () => {
    const { status } = await control(emulator, "POST", "/_emulator/subscriptions/sub_nope/renew");
    expect(status).toBe(404);
  });
});
