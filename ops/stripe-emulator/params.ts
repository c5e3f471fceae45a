import type { Param, Params } from "./form.ts";
import { invalidRequest } from "./stripe-error.ts";

// Typed reads of decoded form params, failing the way Stripe does (400 with the param's name).

/** An optional string param; "" (the stripe package's encoding of null) reads as absent. */
export function optionalString(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string") throw invalidRequest(`Invalid string: ${name}`, name);
  return value;
}

/** A required string param. */
export function requiredString(params: Params, name: string): string {
  const value = optionalString(params, name);
  if (value === undefined) throw missing(name);
  return value;
}

/** An optional integer param (money, counts, timestamps). */
export function optionalInteger(params: Params, name: string): number | undefined {
  const value = optionalString(params, name);
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(parsed)) {
    throw invalidRequest(`Invalid integer: ${value}`, name, "parameter_invalid_integer");
  }
  return parsed;
}

/** A required integer param. */
export function requiredInteger(params: Params, name: string): number {
  const value = optionalInteger(params, name);
  if (value === undefined) throw missing(name);
  return value;
}

/** An optional boolean param ("true" / "false"). */
export function optionalBoolean(params: Params, name: string): boolean | undefined {
  const value = optionalString(params, name);
  if (value === undefined) return undefined;
  if (value === "true") return true;
  if (value === "false") return false;
  throw invalidRequest(`Invalid boolean: ${value}`, name);
}

/** An optional nested object param (e.g. `automatic_payment_methods[enabled]`). */
export function optionalObject(params: Params, name: string): Params | undefined {
  const value = params[name];
  if (value === undefined || value === "") return undefined;
  if (Array.isArray(value)) return Object.fromEntries(value.map((item, index) => [String(index), item]));
  if (typeof value === "string") throw invalidRequest(`Invalid object: ${name}`, name);
  return value;
}

/** An optional array param (`items[0][price]`, `expand[]`). */
export function optionalArray(params: Params, name: string): Param[] | undefined {
  const value = params[name];
  if (value === undefined || value === "") return undefined;
  if (!Array.isArray(value)) throw invalidRequest(`Invalid array: ${name}`, name);
  return value;
}

/** `metadata[k]=v` as a flat string map; "" values mean "unset this key" (returned as null). */
export function metadataParam(params: Params): Record<string, string | null> | undefined {
  const value = optionalObject(params, "metadata");
  if (value === undefined) return undefined;
  const metadata: Record<string, string | null> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string")
      throw invalidRequest(`Invalid metadata value for ${key}`, `metadata[${key}]`);
    metadata[key] = item === "" ? null : item;
  }
  return metadata;
}

/** Applies a metadata update to existing metadata, as Stripe merges it. */
export function mergeMetadata(
  current: Record<string, string>,
  update: Record<string, string | null> | undefined,
): Record<string, string> {
  if (update === undefined) return current;
  const next: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

/** A currency: three letters, lower-cased like Stripe stores it. */
export function requiredCurrency(params: Params, name: string): string {
  const value = requiredString(params, name);
  if (!/^[a-zA-Z]{3}$/.test(value)) throw invalidRequest(`Invalid currency: ${value}`, name);
  return value.toLowerCase();
}

/** The `expand[]` list. */
export function expandParam(params: Params): string[] {
  const list = optionalArray(params, "expand") ?? [];
  return list.map((item) => {
    if (typeof item !== "string") throw invalidRequest("Invalid expand", "expand");
    return item;
  });
}

function missing(name: string) {
  return invalidRequest(`Missing required param: ${name}.`, name, "parameter_missing");
}
