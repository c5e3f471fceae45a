import { type ErrorCode, PermanentError } from "./errors.ts";

// Money is an integer count of the currency's minor unit with a lower-case ISO 4217 code.
// Formatting works on the decimal digits as a string, so no float ever touches an amount.

// Stripe's zero-decimal and three-decimal currencies; every other currency has two decimals.
const zeroDecimal = new Set([
  "bif",
  "clp",
  "djf",
  "gnf",
  "jpy",
  "kmf",
  "krw",
  "mga",
  "pyg",
  "rwf",
  "ugx",
  "vnd",
  "vuv",
  "xaf",
  "xof",
  "xpf",
]);
const threeDecimal = new Set(["bhd", "jod", "kwd", "omr", "tnd"]);

/**
 * The amount as a non-negative safe integer of minor units; else a PermanentError naming the field
 * (code `invalid_event` unless the caller passes another, e.g. `invalid_command`).
 */
export function assertMinorUnits(n: unknown, field: string, code: ErrorCode = "invalid_event"): number {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw new PermanentError(
      code,
      `${field}: must be a non-negative integer of minor units, got ${describe(n)}`,
    );
  }
  return n;
}

/** True for a lower-case three-letter ISO 4217 code such as `usd`. */
export function isCurrency(s: unknown): s is string {
  return typeof s === "string" && /^[a-z]{3}$/.test(s);
}

/** How many decimals the currency's minor unit has (0 for jpy, 3 for kwd, else 2). */
export function minorUnitDigits(currency: string): 0 | 2 | 3 {
  if (zeroDecimal.has(currency)) return 0;
  if (threeDecimal.has(currency)) return 3;
  return 2;
}

/** `formatMoney(1050, "usd")` → `"10.50 USD"`; for logs and the CLI, never for arithmetic. */
export function formatMoney(amount: number, currency: string): string {
  if (!Number.isSafeInteger(amount)) {
    throw new RangeError(`formatMoney: amount ${amount} is not a safe integer`);
  }
  if (!isCurrency(currency)) {
    throw new RangeError(`formatMoney: currency ${JSON.stringify(currency)} is invalid`);
  }
  const digits = minorUnitDigits(currency);
  const sign = amount < 0 ? "-" : "";
  const text = String(Math.abs(amount));
  if (digits === 0) return `${sign}${text} ${currency.toUpperCase()}`;
  const padded = text.padStart(digits + 1, "0");
  const whole = padded.slice(0, -digits);
  const fraction = padded.slice(-digits);
  return `${sign}${whole}.${fraction} ${currency.toUpperCase()}`;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined) return "nothing";
  return typeof value === "object" && value !== null ? typeof value : String(value);
}
