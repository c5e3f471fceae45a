import { errorKind, TransientError } from "./errors.ts";

// What the consumer does with a message whose handler threw: a pure function of the error, how
// many delayed retries the message already had (our x-attempts header) and the configured ladder.

export type Decision =
  | { action: "retry"; delayMs: number; queue: string }
  | { action: "dead-letter"; kind: "permanent" | "exhausted" };

/** In-process retries (p-retry options) tried before a transient error goes to the delayed ladder. */
export const quickRetryOptions = Object.freeze({
  retries: 2,
  minTimeout: 20,
  maxTimeout: 200,
  randomize: true,
});

/** The delayed-retry queue of one ladder step. */
export function retryQueueName(ms: number): string {
  return `billing_queue.retry.${ms}`;
}

/**
 * Permanent → dead-letter now; otherwise the ladder step for this attempt (or the first step that
 * honours the error's retryAfterMs, never past the ladder's end), or dead-letter once it is used up.
 */
export function decide(error: unknown, attempt: number, ladder: readonly number[]): Decision {
  if (!Number.isSafeInteger(attempt) || attempt < 0) throw new RangeError(`decide: bad attempt ${attempt}`);
  if (!ladder.every((ms) => Number.isSafeInteger(ms) && ms > 0)) {
    throw new RangeError(`decide: bad ladder ${ladder.join(",")}`);
  }
  if (errorKind(error) === "permanent") return { action: "dead-letter", kind: "permanent" };
  const step = ladder[attempt];
  if (step === undefined) return { action: "dead-letter", kind: "exhausted" };
  const asked = error instanceof TransientError ? error.retryAfterMs : undefined;
  const wanted = typeof asked === "number" && Number.isFinite(asked) ? asked : 0;
  const delayMs = step >= wanted ? step : (ladder.find((ms) => ms >= wanted) ?? Math.max(...ladder));
  return { action: "retry", delayMs, queue: retryQueueName(delayMs) };
}

/** The x-attempts header as a count: 0 when absent or unreadable (a first delivery). */
export function parseAttempts(header: unknown): number {
  const value = typeof header === "string" && /^\d+$/.test(header) ? Number(header) : header;
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}
