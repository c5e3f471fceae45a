import { parseDuration } from "../../lib/ops/duration.ts";
import { UsageError, type Values } from "./verb.ts";

// Typed reads of parseArgs values; a bad value is a UsageError (one line, exit 2).

/** A string option, or undefined when absent. */
export function stringOption(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** A boolean flag. */
export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

/** A whole number option within [min, max], or `fallback` when absent. */
export function integerOption(
  values: Values,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
  }
  return Number(raw);
}

/** A duration option ("3d", "12h") in ms, or undefined when absent. */
export function durationOption(values: Values, name: string): number | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  try {
    return parseDuration(raw);
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message}`);
  }
}

/** Dead-letter ids from repeated and/or comma-separated --id options. */
export function idsOption(values: Values, name = "id"): number[] {
  const raw = values[name];
  const items = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
    .flatMap((item) => String(item).split(","))
    .map((item) => item.trim())
    .filter((item) => item !== "");
  const ids = items.map((item) => {
    if (!/^\d{1,15}$/.test(item) || Number(item) === 0)
      throw new UsageError(`--${name}: "${item}" is not a dead-letter id`);
    return Number(item);
  });
  return [...new Set(ids)];
}

/** Refuses positional arguments a verb does not take. */
export function noPositionals(positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}
