import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { parseStripeEvent, paymentIntentFacts } from "../../lib/domain/stripe-event.ts";
import { benchMessage } from "../../ops/bench/apply-probe.ts";
import { benchEvents, mixedBenchEvents, sign } from "../../ops/bench/signed-events.ts";

const secret = "whsec_bench_test_secret";

describe("bench events", () => {
  // The load must pass the ingester's verification, or the benchmark measures 400s.
  it("are signed so that stripe.webhooks.constructEvent accepts them", () => {
    const event = benchEvents({ prefix: "t", accounts: 10 })(3);
    const stripe = new Stripe("sk_test_x");
    const verified = stripe.webhooks.constructEvent(event.body, sign(secret, event.body), secret, 300);
    expect(verified.id).toBe(event.id);
    expect(verified.type).toBe("payment_intent.succeeded");
  });

  // The apply path must do the real work: a succeeded deposit crediting its account.
  it("carry a succeeded PaymentIntent crediting metadata.account_id", () => {
    const make = benchEvents({ prefix: "t", accounts: 10 });
    const event = make(13);
    const facts = paymentIntentFacts(parseStripeEvent(event.body));
    expect(facts).toMatchObject({ accountId: "acct_bench_3", status: "succeeded", currency: "usd" });
    expect(facts.amountReceived).toBe(event.amount);
    expect(make(14).id).not.toBe(event.id);
  });
});

describe("mixedBenchEvents", () => {
  // The load: of every 10 events, 8 deposits, 1 subscription update, 1 invoice.paid, each
  // one the worker reads as a valid Stripe event of its family, and later ones newer.
  it("makes 80% deposits, 10% subscription updates and 10% invoice.paid, all readable", () => {
    const make = mixedBenchEvents({
      prefix: "m",
      accounts: 10,
      subscriptions: 3,
      invoices: 3,
      created: 1_700_000_000,
    });
    const events = Array.from({ length: 100 }, (_, i) => make(i));
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === "payment_intent.succeeded")).toHaveLength(80);
    expect(types.filter((t) => t === "customer.subscription.updated")).toHaveLength(10);
    expect(types.filter((t) => t === "invoice.paid")).toHaveLength(10);
    const families = events.map((e) => benchMessage(e).change.family);
    expect(new Set(families)).toEqual(new Set(["payment", "subscription", "invoice"]));
    expect(events.filter((e) => e.amount > 0)).toHaveLength(80);
    const created = events.map((e) => (JSON.parse(e.body) as { created: number }).created);
    expect(created[99]).toBeGreaterThan(created[9] as number);
  });
});
