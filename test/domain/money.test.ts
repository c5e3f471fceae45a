import { describe, expect, it } from "vitest";
import { PermanentError } from "../../lib/domain/errors.ts";
import { assertMinorUnits, formatMoney, isCurrency, minorUnitDigits } from "../../lib/domain/money.ts";

// Money is an integer of minor units: a float, a string or a negative amount must never pass as money.
describe("assertMinorUnits", () => {
  it.each([0, 1, 1050, Number.MAX_SAFE_INTEGER])("accepts %s", (n) => {
    expect(assertMinorUnits(n, "amount")).toBe(n);
  });

  it.each([
    [10.5, "10.5"],
    [-1, "-1"],
    ["100", '"100"'],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    [Number.MAX_SAFE_INTEGER + 1, "9007199254740992"],
    [null, "null"],
    [undefined, "nothing"],
    [{}, "object"],
    [10n, "10"],
  ])("refuses %s as a permanent error naming the field", (n, shown) => {
    let caught: unknown;
    try {
      assertMinorUnits(n, "amount_received");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PermanentError);
    expect(caught).toMatchObject({ code: "invalid_event" });
    expect((caught as Error).message).toBe(
      `amount_received: must be a non-negative integer of minor units, got ${shown}`,
    );
  });

  it("lets the caller choose the code", () => {
    expect(() => assertMinorUnits(1.5, "amount", "invalid_command")).toThrow(
      expect.objectContaining({ code: "invalid_command" }),
    );
  });
});

describe("isCurrency", () => {
  it.each(["usd", "eur", "jpy", "kwd"])("accepts %s", (s) => expect(isCurrency(s)).toBe(true));
  it.each(["USD", "Usd", "us", "usdx", "", " usd", "u5d", 840, null, undefined])("refuses %s", (s) =>
    expect(isCurrency(s)).toBe(false),
  );
});

// Formatting is for people; it must be exact (no float rounding) for every safe integer.
describe("formatMoney", () => {
  it.each([
    [0, "usd", "0.00 USD"],
    [1, "usd", "0.01 USD"],
    [10, "usd", "0.10 USD"],
    [1050, "usd", "10.50 USD"],
    [-1050, "eur", "-10.50 EUR"],
    [-5, "eur", "-0.05 EUR"],
    [123456789, "gbp", "1234567.89 GBP"],
    [Number.MAX_SAFE_INTEGER, "usd", "90071992547409.91 USD"],
    [Number.MAX_SAFE_INTEGER - 1, "usd", "90071992547409.90 USD"],
    [1050, "jpy", "1050 JPY"],
    [-7, "krw", "-7 KRW"],
    [0, "vnd", "0 VND"],
    [1234, "kwd", "1.234 KWD"],
    [5, "bhd", "0.005 BHD"],
  ])("formats %s %s as %s", (amount, currency, expected) => {
    expect(formatMoney(amount, currency)).toBe(expected);
  });

  it.each([
    [1.5, "usd"],
    [Number.NaN, "usd"],
    [Number.MAX_SAFE_INTEGER + 1, "usd"],
    [1, "USD"],
    [1, "dollars"],
  ])("refuses %s %s", (amount, currency) => {
    expect(() => formatMoney(amount, currency)).toThrow(RangeError);
  });

  it.each([
    ["usd", 2],
    ["jpy", 0],
    ["krw", 0],
    ["xof", 0],
    ["kwd", 3],
    ["tnd", 3],
    ["chf", 2],
  ] as const)("knows %s has %s decimals", (currency, digits) => {
    expect(minorUnitDigits(currency)).toBe(digits);
  });
});
