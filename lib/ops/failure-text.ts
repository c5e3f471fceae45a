import { errorMessage } from "../domain/errors.ts";

/**
 * An error as one line for an operator: the first line of its message, with its code when it has
 * one (ECONNREFUSED, 57P01…); Node's happy-eyeballs AggregateError is read through its first error.
 */
export function failureText(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return failureText(error.errors[0]);
  const text = errorMessage(error).split("\n")[0] ?? "";
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && !text.includes(code) ? `${text} (${code})` : text || "no answer";
}
