import { describe, expect, it } from "vitest";
import { PermanentError } from "../../lib/domain/errors.ts";
import {
  chargeRefundFacts,
  customerFacts,
  invoiceFacts,
  parseStripeEvent,
  paymentIntentFacts,
  type StripeEvent,
  subscriptionFacts,
} from "../../lib/domain/stripe-event.ts";
import {
  absent,
  chargeRefunded,
  customerCreated,
  invoice,
  invoicePaid,
  paymentIntent,
  paymentIntentPaymentFailed,
  paymentIntentSucceeded,
  subscription,
  subscriptionUpdated,
  withField,
} from "./stripe-fixtures.ts";

// A payload that cannot be applied must be a PermanentError (dead-lettered at once, never retried)
// whose message names the event type and the field, so ops can see what to fix.

const parse = (json: unknown): StripeEvent => parseStripeEvent(JSON.stringify(json));

function permanentMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).code).toBe("invalid_event");
    return (error as Error).message;
  }
  throw new Error("expected a PermanentError");
}

describe("parseStripeEvent", () => {
  it("reads the envelope from the exact webhook bytes", () => {
    const raw = Buffer.from(JSON.stringify(subscriptionUpdated()));
    const event = parseStripeEvent(raw);
    expect(event).toMatchObject({
      id: "evt_1QxZa3LkdIwHu7ixQrStUvWx",
      type: "customer.subscription.updated",
      created: 1_760_000_200,
      livemode: false,
      previousAttributes: { cancel_at_period_end: false, cancel_at: null },
    });
    expect(event.object.id).toBe("sub_1QxZa3LkdIwHu7ixAbCdEfGh");
  });

  it("reads a string body, or bytes with a BOM, and leaves previousAttributes out when absent", () => {
    const event = parseStripeEvent(JSON.stringify(paymentIntentSucceeded()));
    expect(event.type).toBe("payment_intent.succeeded");
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(invoicePaid()))]);
    expect(parseStripeEvent(bom).type).toBe("invoice.paid");
    // a paired surrogate (an emoji) escaped is fine
    expect(parse(withField(invoicePaid(), "$.data.object.description", "\ud83d\ude00")).type).toBe(
      "invoice.paid",
    );
    expect("previousAttributes" in event).toBe(false);
    expect(parse(withField(paymentIntentSucceeded(), "$.livemode", true)).livemode).toBe(true);
    expect(parse(withField(paymentIntentSucceeded(), "$.livemode", absent)).livemode).toBe(false);
    expect(parse(withField(subscriptionUpdated(), "$.data.previous_attributes", null))).not.toHaveProperty(
      "previousAttributes",
    );
  });

  it.each<[string, string | Uint8Array, string]>([
    ["not JSON", "{nope", "body is not UTF-8 JSON"],
    ["empty", "", "body is not UTF-8 JSON"],
    ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), "body is not UTF-8 JSON"],
    ["an array", "[]", "body is not a JSON object"],
    [
      "a \\u0000 (jsonb cannot keep it)",
      '{"id":"evt_1","x":"a\\u0000b"}',
      "body holds a \\u0000 or an unpaired surrogate",
    ],
    [
      "an unpaired surrogate",
      '{"id":"evt_1","x":"\\ud83d"}',
      "body holds a \\u0000 or an unpaired surrogate",
    ],
    ["null", "null", "body is not a JSON object"],
    [
      "not an event",
      JSON.stringify(withField(invoicePaid(), "$.object", "invoice")),
      'object is not "event"',
    ],
    ["no id", JSON.stringify(withField(invoicePaid(), "$.id", absent)), "id does not start with evt_"],
    [
      "a foreign id",
      JSON.stringify(withField(invoicePaid(), "$.id", "in_123")),
      "id does not start with evt_",
    ],
    [
      "a bare prefix",
      JSON.stringify(withField(invoicePaid(), "$.id", "evt_")),
      "id does not start with evt_",
    ],
    ["no type", JSON.stringify(withField(invoicePaid(), "$.type", absent)), "type missing"],
    ["an empty type", JSON.stringify(withField(invoicePaid(), "$.type", "")), "type missing"],
    ["a numeric type", JSON.stringify(withField(invoicePaid(), "$.type", 7)), "type missing"],
    [
      "no created",
      JSON.stringify(withField(invoicePaid(), "$.created", absent)),
      "created is not unix seconds",
    ],
    [
      "string created",
      JSON.stringify(withField(invoicePaid(), "$.created", "1760000000")),
      "created is not unix seconds",
    ],
    [
      "fractional created",
      JSON.stringify(withField(invoicePaid(), "$.created", 1.5)),
      "created is not unix seconds",
    ],
    [
      "negative created",
      JSON.stringify(withField(invoicePaid(), "$.created", -1)),
      "created is not unix seconds",
    ],
    [
      "string livemode",
      JSON.stringify(withField(invoicePaid(), "$.livemode", "false")),
      "livemode is not a boolean",
    ],
    ["no data", JSON.stringify(withField(invoicePaid(), "$.data", absent)), "data.object missing"],
    [
      "no data.object",
      JSON.stringify(withField(invoicePaid(), "$.data.object", absent)),
      "data.object missing",
    ],
    [
      "array data.object",
      JSON.stringify(withField(invoicePaid(), "$.data.object", [])),
      "data.object missing",
    ],
    [
      "bad previous_attributes",
      JSON.stringify(withField(invoicePaid(), "$.data.previous_attributes", "x")),
      "data.previous_attributes is not an object",
    ],
  ])("refuses %s", (_, raw, reason) => {
    expect(permanentMessage(() => parseStripeEvent(raw))).toContain(`not a Stripe event: ${reason}`);
  });
});

describe("paymentIntentFacts", () => {
  it("reads a succeeded PaymentIntent", () => {
    expect(paymentIntentFacts(parse(paymentIntentSucceeded()))).toEqual({
      paymentIntentId: "pi_3QxYz2LkdIwHu7ix0b8Qe1Ab",
      accountId: "acct-42",
      purpose: "deposit",
      amount: 2500,
      amountReceived: 2500,
      currency: "usd",
      status: "succeeded",
      lastError: undefined,
    });
  });

  it('records payment_intent.payment_failed as our "failed", with Stripe\'s message', () => {
    expect(paymentIntentFacts(parse(paymentIntentPaymentFailed()))).toMatchObject({
      status: "failed",
      amountReceived: 0,
      lastError: "Your card has insufficient funds.",
    });
    const codeOnly = withField(paymentIntentPaymentFailed(), "last_payment_error", { code: "card_declined" });
    expect(paymentIntentFacts(parse(codeOnly)).lastError).toBe("card_declined");
  });

  it("reads other payment_intent events with Stripe's status", () => {
    const event = { ...paymentIntentSucceeded(), type: "payment_intent.processing" };
    const processing = withField(event, "status", "processing");
    expect(paymentIntentFacts(parse(withField(processing, "amount_received", absent)))).toMatchObject({
      status: "processing",
      amountReceived: 0,
    });
  });

  it("leaves accountId and purpose undefined without metadata", () => {
    for (const metadata of [{}, null, absent, { account_id: "", purpose: "" }]) {
      const facts = paymentIntentFacts(parse(withField(paymentIntentSucceeded(), "metadata", metadata)));
      expect([facts.accountId, facts.purpose]).toEqual([undefined, undefined]);
    }
  });

  it.each<[string, string, unknown, string]>([
    ["succeeded", "amount_received", absent, "payment_intent.succeeded: amount_received missing"],
    ["succeeded", "amount_received", null, "payment_intent.succeeded: amount_received missing"],
    ["succeeded", "amount_received", 10.5, "payment_intent.succeeded: amount_received invalid"],
    ["succeeded", "amount_received", "2500", "payment_intent.succeeded: amount_received invalid"],
    ["succeeded", "amount_received", -1, "payment_intent.succeeded: amount_received invalid"],
    ["succeeded", "amount_received", 0, "payment_intent.succeeded: amount_received invalid"],
    ["succeeded", "amount", absent, "payment_intent.succeeded: amount missing"],
    ["succeeded", "amount", 1e300, "payment_intent.succeeded: amount invalid"],
    ["succeeded", "currency", absent, "payment_intent.succeeded: currency missing"],
    ["succeeded", "currency", "USD", "payment_intent.succeeded: currency invalid"],
    ["succeeded", "id", absent, "payment_intent.succeeded: id missing"],
    ["succeeded", "id", "ch_123", "payment_intent.succeeded: id invalid"],
    ["succeeded", "id", "pi_", "payment_intent.succeeded: id invalid"],
    ["succeeded", "status", absent, "payment_intent.succeeded: status missing"],
    ["succeeded", "status", "exploded", "payment_intent.succeeded: status invalid"],
    ["succeeded", "status", "processing", "payment_intent.succeeded: status invalid"],
    ["succeeded", "metadata", "acct-42", "payment_intent.succeeded: metadata invalid"],
    ["succeeded", "metadata.account_id", 42, "payment_intent.succeeded: metadata.account_id invalid"],
    ["succeeded", "object", "charge", "payment_intent.succeeded: object invalid"],
    ["failed", "amount_received", "0", "payment_intent.payment_failed: amount_received invalid"],
    [
      "failed",
      "last_payment_error",
      { message: 5 },
      "payment_intent.payment_failed: last_payment_error.message invalid",
    ],
  ])("%s: %s = %j is refused", (which, path, value, message) => {
    const base = which === "succeeded" ? paymentIntentSucceeded() : paymentIntentPaymentFailed();
    expect(permanentMessage(() => paymentIntentFacts(parse(withField(base, path, value))))).toBe(message);
  });

  it("builds from a bare PaymentIntent too", () => {
    expect(paymentIntent("canceled").status).toBe("canceled");
  });
});

describe("chargeRefundFacts", () => {
  it("reads the cumulative refunded amount", () => {
    expect(chargeRefundFacts(parse(chargeRefunded()))).toEqual({
      chargeId: "ch_3QxYz2LkdIwHu7ix0a1B2c3D",
      paymentIntentId: "pi_3QxYz2LkdIwHu7ix0b8Qe1Ab",
      amountRefunded: 1000,
      currency: "usd",
    });
  });

  it("accepts an expanded payment_intent", () => {
    const expanded = withField(chargeRefunded(), "payment_intent", paymentIntent("succeeded"));
    expect(chargeRefundFacts(parse(expanded)).paymentIntentId).toBe("pi_3QxYz2LkdIwHu7ix0b8Qe1Ab");
  });

  it.each<[string, unknown, string]>([
    ["amount_refunded", absent, "charge.refunded: amount_refunded missing"],
    ["amount_refunded", 1.5, "charge.refunded: amount_refunded invalid"],
    ["payment_intent", null, "charge.refunded: payment_intent missing"],
    ["payment_intent", "ch_1", "charge.refunded: payment_intent invalid"],
    ["payment_intent", { id: 7 }, "charge.refunded: payment_intent invalid"],
    ["id", "", "charge.refunded: id missing"],
    ["id", 5, "charge.refunded: id invalid"],
    ["currency", "us", "charge.refunded: currency invalid"],
    ["object", "refund", "charge.refunded: object invalid"],
  ])("%s = %j is refused", (path, value, message) => {
    expect(permanentMessage(() => chargeRefundFacts(parse(withField(chargeRefunded(), path, value))))).toBe(
      message,
    );
  });
});

describe("subscriptionFacts", () => {
  it("reads a subscription of the current API (period on the item)", () => {
    expect(subscriptionFacts(parse(subscriptionUpdated()))).toEqual({
      subscriptionId: "sub_1QxZa3LkdIwHu7ixAbCdEfGh",
      customerId: "cus_RkT0a1b2c3d4e5",
      status: "active",
      priceId: "price_pro_2500",
      currentPeriodEnd: 1_762_678_400,
      cancelAtPeriodEnd: true,
    });
  });

  it("reads current_period_end from the subscription in older API versions", () => {
    const old = withField(
      withField(subscriptionUpdated(), "current_period_end", 1_700_000_000),
      "items.data.0.current_period_end",
      absent,
    );
    expect(subscriptionFacts(parse(old)).currentPeriodEnd).toBe(1_700_000_000);
  });

  it("has no price and no period without items, and takes an expanded customer", () => {
    const bare = withField(subscriptionUpdated(), "items", absent);
    expect(subscriptionFacts(parse(bare))).toMatchObject({ priceId: null, currentPeriodEnd: null });
    const empty = withField(subscriptionUpdated(), "items.data", []);
    expect(subscriptionFacts(parse(empty))).toMatchObject({ priceId: null, currentPeriodEnd: null });
    const expanded = withField(subscriptionUpdated(), "customer", { id: "cus_X1", object: "customer" });
    expect(subscriptionFacts(parse(expanded)).customerId).toBe("cus_X1");
  });

  it.each([
    "incomplete",
    "incomplete_expired",
    "trialing",
    "active",
    "past_due",
    "unpaid",
    "canceled",
    "paused",
  ])("accepts status %s", (status) => {
    expect(subscriptionFacts(parse(withField(subscriptionUpdated(), "status", status))).status).toBe(status);
  });

  it.each<[string, unknown, string]>([
    ["id", "si_1", "id invalid"],
    ["customer", absent, "customer missing"],
    ["customer", "acct-42", "customer invalid"],
    ["status", "ended", "status invalid"],
    ["status", null, "status missing"],
    ["cancel_at_period_end", absent, "cancel_at_period_end missing"],
    ["cancel_at_period_end", "false", "cancel_at_period_end invalid"],
    ["items.data", {}, "items.data invalid"],
    ["items.data.0.price", { id: 5 }, "items.data.0.price invalid"],
    ["items.data.0.price", "prod_1", "items.data.0.price invalid"],
    ["items.data.0.current_period_end", "soon", "items.data.0.current_period_end invalid"],
    ["current_period_end", -5, "current_period_end invalid"],
    ["object", "subscription_item", "object invalid"],
  ])("%s = %j is refused", (path, value, problem) => {
    expect(
      permanentMessage(() => subscriptionFacts(parse(withField(subscriptionUpdated(), path, value)))),
    ).toBe(`customer.subscription.updated: ${problem}`);
  });

  it("builds a bare subscription fixture with overrides", () => {
    expect(subscription("trialing", { trial_end: 1 }).trial_end).toBe(1);
  });
});

describe("invoiceFacts", () => {
  it("reads an invoice of the current API (subscription under parent)", () => {
    expect(invoiceFacts(parse(invoicePaid()))).toEqual({
      invoiceId: "in_1QxZa3LkdIwHu7ixIjKlMnOp",
      customerId: "cus_RkT0a1b2c3d4e5",
      subscriptionId: "sub_1QxZa3LkdIwHu7ixAbCdEfGh",
      status: "paid",
      amountDue: 2500,
      amountPaid: 2500,
      attemptCount: 1,
      currency: "usd",
    });
  });

  it("reads the pre-2025 subscription field, and none for a one-off invoice", () => {
    const old = withField(withField(invoicePaid(), "parent", absent), "subscription", "sub_Old1");
    expect(invoiceFacts(parse(old)).subscriptionId).toBe("sub_Old1");
    const oneOff = withField(withField(invoicePaid(), "parent", null), "subscription", null);
    expect(invoiceFacts(parse(oneOff)).subscriptionId).toBeNull();
  });

  it.each(["draft", "open", "paid", "uncollectible", "void"])("accepts status %s", (status) => {
    expect(invoiceFacts(parse(withField(invoicePaid(), "status", status))).status).toBe(status);
  });

  it.each<[string, unknown, string]>([
    ["id", "ii_1", "id invalid"],
    ["customer", null, "customer missing"],
    ["subscription", "si_1", "subscription invalid"],
    ["parent.subscription_details.subscription", 5, "parent.subscription_details.subscription invalid"],
    ["status", "deleted", "status invalid"],
    ["amount_due", absent, "amount_due missing"],
    ["amount_paid", "2500", "amount_paid invalid"],
    ["attempt_count", -1, "attempt_count invalid"],
    ["currency", absent, "currency missing"],
  ])("%s = %j is refused", (path, value, problem) => {
    expect(permanentMessage(() => invoiceFacts(parse(withField(invoicePaid(), path, value))))).toBe(
      `invoice.paid: ${problem}`,
    );
  });

  it("builds a bare invoice fixture", () => {
    expect(invoice("open").amount_paid).toBe(0);
  });
});

describe("customerFacts", () => {
  it("reads the customer and its account", () => {
    expect(customerFacts(parse(customerCreated()))).toEqual({
      customerId: "cus_RkT0a1b2c3d4e5",
      accountId: "acct-42",
      email: "ada@example.com",
    });
    const anonymous = withField(withField(customerCreated(), "email", null), "metadata", {});
    expect(customerFacts(parse(anonymous))).toEqual({
      customerId: "cus_RkT0a1b2c3d4e5",
      accountId: undefined,
      email: null,
    });
  });

  it.each<[string, unknown, string]>([
    ["id", "acct-42", "id invalid"],
    ["email", 5, "email invalid"],
    ["metadata.account_id", ["a"], "metadata.account_id invalid"],
    ["object", "account", "object invalid"],
  ])("%s = %j is refused", (path, value, problem) => {
    expect(permanentMessage(() => customerFacts(parse(withField(customerCreated(), path, value))))).toBe(
      `customer.created: ${problem}`,
    );
  });
});
