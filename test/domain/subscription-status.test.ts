import { describe, expect, it } from "vitest";
import * as subscription from "../../lib/domain/subscription-status.ts";
import { checkMachine } from "./machine-checks.ts";

// Subscriptions use Stripe's own statuses; canceled and incomplete_expired are final.
describe("subscription status machine", () => {
  checkMachine(subscription.subscriptionMachine, {
    statuses: [
      "incomplete",
      "incomplete_expired",
      "trialing",
      "active",
      "past_due",
      "unpaid",
      "canceled",
      "paused",
    ],
    terminal: ["incomplete_expired", "canceled"],
    progress: [
      "incomplete",
      "trialing",
      "active",
      "past_due",
      "unpaid",
      "paused",
      "incomplete_expired",
      "canceled",
    ],
    next: {
      incomplete: ["trialing", "active", "incomplete_expired", "canceled"],
      trialing: ["active", "past_due", "unpaid", "paused", "canceled"],
      active: ["trialing", "past_due", "unpaid", "paused", "canceled"],
      past_due: ["active", "unpaid", "canceled"],
      unpaid: ["active", "canceled"],
      paused: ["active", "canceled"],
      incomplete_expired: [],
      canceled: [],
    },
  });

  it("exports the machine's parts under the plain names", () => {
    expect(subscription.statuses).toEqual(subscription.subscriptionMachine.statuses);
    expect(subscription.terminal).toBe(subscription.subscriptionMachine.terminal);
    expect(subscription.rank).toBe(subscription.subscriptionMachine.rank);
    expect(subscription.transitions).toBe(subscription.subscriptionMachine.transitions);
    expect(subscription.canTransition("past_due", "active")).toBe(true);
    expect(subscription.canTransition("canceled", "active")).toBe(false);
    expect(subscription.isStatus("paused")).toBe(true);
    expect(subscription.isTerminal("incomplete_expired")).toBe(true);
  });
});
