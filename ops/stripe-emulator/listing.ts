import type { Params } from "./form.ts";
import { optionalInteger, optionalString } from "./params.ts";
import { invalidRequest, resourceMissing } from "./stripe-error.ts";

/** A cursor page request as Stripe's list endpoints take it. */
export interface PageRequest {
  readonly limit: number;
  /** Position (in creation order) to start below, exclusive; Infinity for the newest. */
  readonly below: number;
  /** Position to stay above, exclusive (from `ending_before`); -1 for none. */
  readonly above: number;
  /** True when `ending_before` was given: the page nearest to it is wanted. */
  readonly fromAbove: boolean;
}

/** Reads `limit` (1–100, default 10), `starting_after` and `ending_before` against an id index. */
export function readPageRequest(
  params: Params,
  resource: string,
  position: (id: string) => number | undefined,
): PageRequest {
  const limit = optionalInteger(params, "limit") ?? 10;
  if (limit < 1 || limit > 100) {
    throw invalidRequest("This value must be between 1 and 100 (inclusive).", "limit");
  }
  const startingAfter = optionalString(params, "starting_after");
  const endingBefore = optionalString(params, "ending_before");
  if (startingAfter !== undefined && endingBefore !== undefined) {
    throw invalidRequest("You may only specify one of these parameters: ending_before, starting_after.");
  }
  const positionOf = (id: string, param: string): number => {
    const at = position(id);
    if (at === undefined) throw resourceMissing(resource, id, param, 400);
    return at;
  };
  return {
    limit,
    below:
      startingAfter === undefined ? Number.POSITIVE_INFINITY : positionOf(startingAfter, "starting_after"),
    above: endingBefore === undefined ? -1 : positionOf(endingBefore, "ending_before"),
    fromAbove: endingBefore !== undefined,
  };
}

/**
 * One page, newest first, of `items` (kept oldest first), skipping those `accept` refuses. Work is
 * bounded by the page size plus the items skipped; `stop` ends a newest-first scan early (a lower
 * time bound) since items are sorted by creation.
 */
export function pageNewestFirst<T>(
  items: readonly T[],
  page: PageRequest,
  accept: (item: T) => boolean,
  stop: (item: T) => boolean = () => false,
): { data: T[]; hasMore: boolean } {
  const data: T[] = [];
  if (page.fromAbove) {
    // ending_before: the `limit` accepted items just newer than the cursor, still listed newest first.
    let i = page.above + 1;
    for (; i < items.length && data.length < page.limit; i++) {
      const item = items[i] as T;
      if (accept(item)) data.push(item);
    }
    let hasMore = false;
    for (; i < items.length; i++) {
      if (accept(items[i] as T)) {
        hasMore = true;
        break;
      }
    }
    return { data: data.reverse(), hasMore };
  }
  let i = Math.min(page.below, items.length) - 1;
  for (; i >= 0 && data.length < page.limit; i--) {
    const item = items[i] as T;
    if (stop(item)) return { data, hasMore: false };
    if (accept(item)) data.push(item);
  }
  for (; i >= 0; i--) {
    const item = items[i] as T;
    if (stop(item)) break;
    if (accept(item)) return { data, hasMore: true };
  }
  return { data, hasMore: false };
}
