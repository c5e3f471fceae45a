import { describe, expect, it } from "vitest";
import {
  ledgerEntryAmount,
  ledgerKinds,
  ledgerSourceId,
  planCredit,
  planDebit,
  refundDelta,
} from "../../lib/domain/ledger.ts";
import { permutations } from "./random.ts";

const max = Number.MAX_SAFE_INTEGER;

describe("planCredit", () => {
  it.each([
    [0, 1, 1],
    [0, 1050, 1050],
    [500, 250, 750],
    [-100, 100, 0],
    [max - 1, 1, max],
  ])("credits %s by %s to %s", (balance, amount, newBalance) => {
    expect(planCredit(balance, amount)).toEqual({ ok: true, newBalance });
  });

  // A zero, negative or fractional credit is a caller bug, never a silent no-op or a debit.
  it.each([
    [0, 0],
    [0, -1],
    [0, 1.5],
    [0, Number.NaN],
    [1.5, 1],
    [max, 1],
  ])("refuses balance %s amount %s", (balance, amount) => {
    expect(() => planCredit(balance, amount)).toThrow(RangeError);
  });
});

// Charges are refused (no debit) below zero; the balance stays untouched in that case.
describe("planDebit", () => {
  it.each([
    [100, 100, 0],
    [100, 1, 99],
    [10_000, 100, 9900],
    [max, max, 0],
  ])("debits %s by %s to %s", (balance, amount, newBalance) => {
    expect(planDebit(balance, amount)).toEqual({ ok: true, newBalance });
    expect(planDebit(balance, amount, { allowNegative: false })).toEqual({ ok: true, newBalance });
  });

  it.each([
    [0, 1],
    [99, 100],
    [-5, 1],
  ])("refuses %s - %s as insufficient funds", (balance, amount) => {
    expect(planDebit(balance, amount)).toEqual({ ok: false, reason: "insufficient_funds", balance, amount });
  });

  it("may go below zero only when allowed", () => {
    expect(planDebit(50, 80, { allowNegative: true })).toEqual({ ok: true, newBalance: -30 });
  });

  it.each([
    [0, 0],
    [10, -1],
    [10, 0.5],
    [Number.NaN, 1],
    [-max, 1],
  ])("refuses balance %s amount %s", (balance, amount) => {
    expect(() => planDebit(balance, amount, { allowNegative: true })).toThrow(RangeError);
  });
});

// Refund events carry the cumulative refunded amount; in any order the debits total max(cumulative).
describe("refundDelta", () => {
  it.each([
    [0, 0, 0],
    [0, 300, 300],
    [100, 300, 200],
    [300, 300, 0],
    [300, 100, 0],
  ])("already %s, cumulative %s → debit %s", (already, cumulative, delta) => {
    expect(refundDelta(already, cumulative)).toBe(delta);
  });

  it("debits max(cumulative) in total for every order of a refund history", () => {
    const cumulative = [100, 250, 250, 400, 1000];
    for (const order of permutations(cumulative)) {
      let refunded = 0;
      let debited = 0;
      for (const value of order) {
        const delta = refundDelta(refunded, value);
        debited += delta;
        refunded = Math.max(refunded, value);
      }
      expect(debited).toBe(1000);
    }
  });

  it.each([
    [-1, 0],
    [0, -1],
    [0.5, 1],
    [0, Number.NaN],
  ])("refuses %s, %s", (already, cumulative) => {
    expect(() => refundDelta(already, cumulative)).toThrow(RangeError);
  });
});

describe("ledgerEntryAmount", () => {
  it.each([
    ["deposit_credit", 500, 500],
    ["refund_debit", 500, -500],
    ["charge_debit", 500, -500],
  ] as const)("%s of %s is %s", (kind, amount, signed) => {
    expect(ledgerEntryAmount(kind, amount)).toBe(signed);
  });

  it("refuses a non-positive amount", () => {
    expect(() => ledgerEntryAmount("charge_debit", 0)).toThrow(RangeError);
  });

  it("names exactly the three kinds", () => {
    expect(ledgerKinds).toEqual(["deposit_credit", "refund_debit", "charge_debit"]);
  });
});

// Source ids make each entry happen once: the same cause must give the same id, another cause another.
describe("ledgerSourceId", () => {
  it.each([
    [ledgerSourceId("deposit_credit", "pi_123"), "pi_123"],
    [ledgerSourceId("refund_debit", "pi_123", 300), "pi_123:refunded:300"],
    [ledgerSourceId("charge_debit", "cmd-42"), "cmd-42"],
  ])("%s", (actual, expected) => {
    expect(actual).toBe(expected);
  });

  it("differs for different cumulative refunds", () => {
    expect(ledgerSourceId("refund_debit", "pi_1", 100)).not.toBe(ledgerSourceId("refund_debit", "pi_1", 200));
  });

  it.each([
    () => ledgerSourceId("deposit_credit", ""),
    () => ledgerSourceId("charge_debit", ""),
    () => ledgerSourceId("refund_debit", "pi_1", 0),
    () => ledgerSourceId("refund_debit", "pi_1", 1.5),
    () => ledgerSourceId("refund_debit", "", 10),
  ])("refuses empty or invalid parts (%#)", (build) => {
    expect(build).toThrow(RangeError);
  });
});
