// The arithmetic of a token bucket shared by callers of two priorities. `command` calls may take
// any token; `background` calls leave `reserve` tokens in the bucket, so a command arriving at
// any moment finds some at once. Pure: (state, limit, now) in, new state out.

export type Priority = "command" | "background";

export interface BudgetLimit {
  /** Tokens refilled per second. */
  readonly perSecond: number;
  /** Bucket size: the largest burst. */
  readonly burst: number;
  /** Tokens background calls leave for commands (less than burst). */
  readonly reserve: number;
}

export interface BudgetState {
  readonly tokens: number;
  /** The clock reading (ms) `tokens` was computed at. */
  readonly atMs: number;
}

/** A limit of `perSecond` with a burst of one second's worth and half of it reserved for commands. */
export function budgetLimit(perSecond: number): BudgetLimit {
  if (!(Number.isFinite(perSecond) && perSecond > 0))
    throw new RangeError(`budgetLimit: bad rate ${perSecond}`);
  const burst = Math.max(1, perSecond);
  return { perSecond, burst, reserve: Math.floor(burst / 2) };
}

/** A full bucket at `nowMs`. */
export function fullBudget(limit: BudgetLimit, nowMs: number): BudgetState {
  return { tokens: limit.burst, atMs: nowMs };
}

/** The bucket refilled up to `nowMs`. */
export function refill(state: BudgetState, limit: BudgetLimit, nowMs: number): BudgetState {
  const elapsed = Math.max(0, nowMs - state.atMs);
  return { tokens: Math.min(limit.burst, state.tokens + (elapsed * limit.perSecond) / 1000), atMs: nowMs };
}

/** Tokens that must be in the bucket before a call of this priority may take one. */
export function needed(priority: Priority, limit: BudgetLimit): number {
  return priority === "command" ? 1 : 1 + limit.reserve;
}

/** Takes a token (refilled to `nowMs`) if there are enough for `priority`; else says how long to wait. */
export function take(
  state: BudgetState,
  limit: BudgetLimit,
  priority: Priority,
  nowMs: number,
): { readonly state: BudgetState; readonly waitMs: number } {
  const current = refill(state, limit, nowMs);
  const want = needed(priority, limit);
  if (current.tokens >= want) return { state: { ...current, tokens: current.tokens - 1 }, waitMs: 0 };
  // The epsilon absorbs float drift so that a wait of exactly one token is not rounded up by 1 ms.
  const waitMs = Math.max(1, Math.ceil(((want - current.tokens) * 1000) / limit.perSecond - 1e-6));
  return { state: current, waitMs };
}
