// How long to wait before trying a throttled or failing remote call again: what the remote asked
// for (Retry-After) when it said, else exponential from a base; never more than a cap, so a long
// storm slows work down without ever parking it for days.

export interface BackoffSettings {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** The wait before retry number `attempt` (1 = the first retry). */
export function backoffMs(
  attempt: number,
  retryAfterMs: number | undefined,
  settings: BackoffSettings,
): number {
  if (!Number.isSafeInteger(attempt) || attempt < 1)
    throw new RangeError(`backoffMs: bad attempt ${attempt}`);
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0) {
    return Math.min(retryAfterMs, settings.maxMs);
  }
  // 2^30 is far past any cap; the exponent is bounded so the arithmetic stays exact.
  return Math.min(settings.baseMs * 2 ** Math.min(attempt - 1, 30), settings.maxMs);
}
