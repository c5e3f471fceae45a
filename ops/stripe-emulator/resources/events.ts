import type { ApiContext } from "../api-context.ts";
import { pathId } from "../api-context.ts";
import type { Params } from "../form.ts";
import { pageNewestFirst, readPageRequest } from "../listing.ts";
import { optionalArray, optionalInteger, optionalObject, optionalString } from "../params.ts";
import type { EventRecord } from "../store.ts";
import { invalidRequest, resourceMissing } from "../stripe-error.ts";

/** A response whose body is already JSON (events are stored serialized, as they were emitted). */
export interface RawJson {
  readonly rawJson: string;
}

/** GET /v1/events/:id. */
export function retrieveEvent(context: ApiContext): RawJson {
  const id = pathId(context);
  const at = context.store.eventPosition.get(id);
  const record = at === undefined ? undefined : context.store.events[at];
  if (record === undefined) throw resourceMissing("event", id, "id", 404);
  return { rawJson: record.json };
}

/**
 * GET /v1/events (limit, starting_after, ending_before, created or created[gt|gte|lt|lte], type with
 * a `*` wildcard, types[]): newest first like Stripe. Events are sorted by `created`, so the time
 * bounds cut the scan short instead of filtering every event.
 */
export function listEvents(context: ApiContext): RawJson {
  const { store, params } = context;
  const { events } = store;
  const page = readPageRequest(params, "event", (id) => store.eventPosition.get(id));
  const { min, max } = createdRange(params);
  const matchesType = typeFilter(params);
  const below = Math.min(page.below, firstAfter(events, max));
  const { data, hasMore } = pageNewestFirst(
    events,
    { ...page, below },
    (event) => event.created >= min && event.created <= max && matchesType(event.type),
    (event) => event.created < min,
  );
  const body = `{"object":"list","data":[${data.map((event) => event.json).join(",")}],"has_more":${hasMore},"url":"/v1/events"}`;
  return { rawJson: body };
}

function createdRange(params: Params): { min: number; max: number } {
  const exact = typeof params.created === "string" ? optionalInteger(params, "created") : undefined;
  if (exact !== undefined) return { min: exact, max: exact };
  const range = optionalObject(params, "created") ?? {};
  const gt = optionalInteger(range, "gt");
  const gte = optionalInteger(range, "gte");
  const lt = optionalInteger(range, "lt");
  const lte = optionalInteger(range, "lte");
  return {
    min: Math.max(gt === undefined ? 0 : gt + 1, gte ?? 0),
    max: Math.min(lt === undefined ? Number.MAX_SAFE_INTEGER : lt - 1, lte ?? Number.MAX_SAFE_INTEGER),
  };
}

function typeFilter(params: Params): (type: string) => boolean {
  const type = optionalString(params, "type");
  const types = optionalArray(params, "types");
  if (type !== undefined && types !== undefined) {
    throw invalidRequest("You may only specify one of these parameters: type, types.");
  }
  const patterns = type !== undefined ? [type] : (types ?? []).map((item) => String(item));
  if (patterns.length === 0) return () => true;
  const matchers = patterns.map((pattern) =>
    pattern.endsWith("*")
      ? (value: string) => value.startsWith(pattern.slice(0, -1))
      : (value: string) => value === pattern,
  );
  return (value) => matchers.some((matches) => matches(value));
}

/** Position of the first event created after `max` (binary search; events are sorted by created). */
function firstAfter(events: readonly EventRecord[], max: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((events[mid] as EventRecord).created <= max) low = mid + 1;
    else high = mid;
  }
  return low;
}
