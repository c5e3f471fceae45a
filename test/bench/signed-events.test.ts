import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { parseStripeEvent, paymentIntentFacts } from "../../lib/domain/stripe-event.ts";
import { benchEvents, sign } from "../../ops/bench/signed-events.ts";

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
