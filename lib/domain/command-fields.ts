// The field rules of commands. Each check returns the clean value, or pushes a FieldError naming
// the field and returns undefined, so one pass reports every problem of a command at once.

/** One problem with one field of a command; `field` is a path such as `items[0].currency`. */
export interface FieldError {
  field: string;
  message: string;
}

export type Check<T> = (value: unknown, field: string, errors: FieldError[]) => T | undefined;

// Control, format, surrogate, private-use and unassigned code points: not printable text.
const unprintable = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u;
const utf8 = new TextEncoder();

/** Printable text of `min`–`max` characters (code points). */
export function text(min: number, max: number): Check<string> {
  return (value, field, errors) => {
    if (typeof value !== "string") return fail(errors, field, "must be a string");
    const length = [...value].length;
    if (length < min) {
      return fail(errors, field, min === 1 ? "must not be empty" : `must be at least ${min} characters`);
    }
    if (length > max) return fail(errors, field, `must be at most ${max} characters`);
    if (unprintable.test(value)) {
      return fail(errors, field, "must not contain control or unprintable characters");
    }
    return value;
  };
}

const idText = text(1, 255);

/** A command id: printable, 1–255 characters and at most 255 UTF-8 bytes (an AMQP messageId). */
export const commandId: Check<string> = (value, field, errors) => {
  const id = idText(value, field, errors);
  if (id === undefined) return undefined;
  if (utf8.encode(id).length > 255) return fail(errors, field, "must be at most 255 bytes in UTF-8");
  return id;
};

/** A Stripe id with its prefix, e.g. `price_…`: letters, digits and underscores, at most 255. */
export function stripeId(prefix: string): Check<string> {
  const shape = new RegExp(`^${prefix}[A-Za-z0-9_]{1,${255 - prefix.length}}$`);
  return (value, field, errors) => {
    if (typeof value !== "string") return fail(errors, field, "must be a string");
    if (!shape.test(value)) return fail(errors, field, `must be a Stripe id starting with ${prefix}`);
    return value;
  };
}

/** A positive safe integer in the currency's minor unit (1050 = 10.50 usd). */
export const amount: Check<number> = (value, field, errors) => {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    return fail(errors, field, "must be a positive integer in minor units (e.g. 1050 for 10.50)");
  }
  return value;
};

/** A lower-case ISO 4217 code. */
export const currency: Check<string> = (value, field, errors) => {
  if (typeof value !== "string" || !/^[a-z]{3}$/.test(value)) {
    return fail(errors, field, "must be a lower-case ISO 4217 code such as usd");
  }
  return value;
};

/** A sane e-mail shape: one @, a dotted domain, no spaces, at most 254 characters. */
export const email: Check<string> = (value, field, errors) => {
  if (typeof value !== "string") return fail(errors, field, "must be a string");
  if (value.length > 254 || !/^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(value) || unprintable.test(value)) {
    return fail(errors, field, "must be an e-mail address");
  }
  return value;
};

/** An integer between `min` and `max` inclusive. */
export function integer(min: number, max: number): Check<number> {
  return (value, field, errors) => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      return fail(errors, field, `must be an integer from ${min} to ${max}`);
    }
    return value;
  };
}

export const boolean: Check<boolean> = (value, field, errors) =>
  typeof value === "boolean" ? value : fail(errors, field, "must be true or false");

/** True for a JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Records the error; returns undefined so checks can `return fail(…)`. */
export function fail(errors: FieldError[], field: string, message: string): undefined {
  errors.push({ field, message });
  return undefined;
}
