import { describe, expect, it } from "vitest";
import { eventsPerAccount, expectedStatus, planBillingDay } from "../../ops/demo/billing-day.ts";
import { refundOf } from "../../ops/demo/day-runner.ts";

describe("planBillingDay", () => {
  // Repeated runs with the same seed do the same day, so a failure can be replayed.
  it("is the same plan for the same seed", () => {
    expect(planBillingDay(800, 7)).toEqual(planBillingDay(800, 7));
    expect(planBillingDay(800, 7)).not.toEqual(planBillingDay(800, 8));
  });

  // --events scales the day.
  it("sizes the day from the number of events", () => {
    expect(planBillingDay(1000, 1).accounts).toHaveLength(Math.round(1000 / eventsPerAccount));
    expect(planBillingDay(100, 1).accounts.length).toBeGreaterThanOrEqual(4);
  });

  // The expected balance is exact arithmetic whatever order the charges are applied in: charges
  // that fit never exceed the balance together, refused ones exceed it alone.
  it("plans charges whose outcome does not depend on their order", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      for (const account of planBillingDay(2000, seed).accounts) {
        const deposited = account.deposits.reduce((a, b) => a + b, 0);
        const left = deposited - refundOf(account);
        const fitting = account.charges.filter((c) => c.fits).reduce((a, c) => a + c.amount, 0);
        expect(new Set(account.deposits).size).toBe(account.deposits.length);
        expect(left).toBeGreaterThanOrEqual(0);
        expect(fitting).toBeLessThanOrEqual(left);
        for (const charge of account.charges) {
          expect(Number.isSafeInteger(charge.amount) && charge.amount > 0).toBe(true);
          if (!charge.fits) expect(charge.amount).toBeGreaterThan(left);
        }
        expect(account.expectedBalance).toBe(left - fitting);
      }
    }
  });

  // The day covers what the issue asks for: trials, renewals, failures, cancellations, refunds,
  // refused charges, both transports.
  it("covers every kind of step at the default size", () => {
    const { accounts, resentDeposits } = planBillingDay(1000, 1);
    const paths = new Set(accounts.flatMap((a) => (a.subscription ? [a.subscription.path] : [])));
    expect([...paths].sort()).toEqual(Object.keys(expectedStatus).sort());
    expect(accounts.some((a) => a.subscription?.trialDays !== undefined)).toBe(true);
    expect(accounts.some((a) => a.refund === "full")).toBe(true);
    expect(accounts.some((a) => typeof a.refund === "number")).toBe(true);
    expect(accounts.some((a) => a.charges.some((c) => !c.fits))).toBe(true);
    expect(accounts.some((a) => a.overAmqp) && accounts.some((a) => !a.overAmqp)).toBe(true);
    expect(new Set(accounts.map((a) => a.currency))).toEqual(new Set(["usd", "eur"]));
    expect(resentDeposits).toBeGreaterThan(0);
  });
});
