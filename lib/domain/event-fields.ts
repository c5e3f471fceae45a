import { PermanentError } from "./errors.ts";
import { isCurrency } from "./money.ts";

// Reads fields of a Stripe object for one event type; every failure is a permanent invalid_event
// whose message names the type and the field, e.g. "payment_intent.succeeded: amount missing".

export type JsonObject = Record<string, unknown>;

/** True for a JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A reader of one event's object; `path` is dotted (`metadata.account_id`, `items.data.0.price`). */
export function fieldReader(type: string, object: JsonObject) {
  const fail = (path: string, problem: "missing" | "invalid"): never => {
    throw new PermanentError("invalid_event", `${type}: ${path} ${problem}`);
  };
  const get = (path: string): unknown => {
    let value: unknown = object;
    for (const key of path.split(".")) {
      if (Array.isArray(value) && /^\d+$/.test(key)) value = value[Number(key)];
      else if (isObject(value)) value = value[key];
      else return undefined;
    }
    return value;
  };
  const present = (path: string): unknown => {
    const value = get(path);
    return value === undefined || value === null ? fail(path, "missing") : value;
  };

  return {
    fail,
    get,
    /** A non-empty string starting with `prefix`. */
    id(path: string, prefix: string): string {
      const value = present(path);
      return typeof value === "string" && value.startsWith(prefix) && value.length > prefix.length
        ? value
        : fail(path, "invalid");
    },
    /** An id that may be expanded into an object `{ id }`; null when absent. */
    optionalRef(path: string, prefix: string): string | null {
      const value = get(path);
      if (value === undefined || value === null) return null;
      const id = isObject(value) ? value.id : value;
      return typeof id === "string" && id.startsWith(prefix) && id.length > prefix.length
        ? id
        : fail(path, "invalid");
    },
    /** A non-negative safe integer (minor units, counts, unix seconds). */
    count(path: string): number {
      const value = present(path);
      return typeof value === "number" && Number.isSafeInteger(value) && value >= 0
        ? value
        : fail(path, "invalid");
    },
    optionalCount(path: string): number | null {
      const value = get(path);
      if (value === undefined || value === null) return null;
      return typeof value === "number" && Number.isSafeInteger(value) && value >= 0
        ? value
        : fail(path, "invalid");
    },
    currency(path: string): string {
      const value = present(path);
      return isCurrency(value) ? value : fail(path, "invalid");
    },
    boolean(path: string): boolean {
      const value = present(path);
      return typeof value === "boolean" ? value : fail(path, "invalid");
    },
    /** A string, or null when absent; an empty string (Stripe's "unset") is null too. */
    optionalString(path: string): string | null {
      const value = get(path);
      if (value === undefined || value === null || value === "") return null;
      return typeof value === "string" ? value : fail(path, "invalid");
    },
    /** One of the machine's statuses. */
    status<S extends string>(path: string, isStatus: (s: unknown) => s is S): S {
      const value = present(path);
      return isStatus(value) ? value : fail(path, "invalid");
    },
  };
}
