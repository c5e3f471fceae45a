import type Stripe from "stripe";
import type { Db } from "../db/database.ts";
import type { Logger } from "../log.ts";
import { reconcileEventsMissing, reconcilePages } from "../metrics/registry.ts";
import type { StripeApi } from "../stripe/client.ts";
import { knownEvents } from "./known-events.ts";

// One reconciliation pass: page GET /v1/events from `fromS` (newest first, Stripe's order), skip
// what is applied or parked, and enqueue every other event, each confirmed by the broker before the
// next. The `reconciler` process runs it every interval from its cursor; `billing-ops reconcile`
// runs it once from --since. It throws if a page or a publish fails: nothing after that is done,
// and a caller keeping a cursor must not advance it.

/** Puts one event on the broker; resolves only once the broker confirmed it. */
export type PublishEvent = (event: Stripe.Event) => Promise<void>;

export interface PassDeps {
  readonly stripe: StripeApi;
  readonly db: Db;
  readonly log: Logger;
  /** Undefined: a dry run, nothing is published. */
  readonly publish: PublishEvent | undefined;
  /** Aborting ends the pass after the event in flight: the result says `interrupted`. */
  readonly signal?: AbortSignal;
  /** Told after every page, for progress lines. */
  readonly onPage?: (counts: PassCounts) => void;
}

export interface PassOptions {
  /** created[gte] of the listing, unix seconds. */
  readonly fromS: number;
  /** Patient: a 429 storm or a flaky Stripe slows the pass down, never fails it (the reconciler). */
  readonly patient: boolean;
  /** Events per page (Stripe's maximum is 100). */
  readonly pageSize?: number;
}

export interface PassCounts {
  listed: number;
  alreadyApplied: number;
  parked: number;
  enqueued: number;
  pages: number;
}

export interface PassResult extends PassCounts {
  readonly enqueuedIds: string[];
  readonly parkedIds: string[];
  /** The created of the newest event listed; null when nothing was listed. */
  readonly newestCreatedS: number | null;
  /** True when the signal ended the pass early: the listing was not complete. */
  readonly interrupted: boolean;
}

/** Runs one pass; see the file comment. */
export async function reconcilePass(deps: PassDeps, options: PassOptions): Promise<PassResult> {
  const counts: PassCounts = { listed: 0, alreadyApplied: 0, parked: 0, enqueued: 0, pages: 0 };
  const enqueuedIds: string[] = [];
  const parkedIds: string[] = [];
  const seen = new Set<string>();
  let newestCreatedS: number | null = null;
  let startingAfter: string | undefined;
  const aborted = () => deps.signal?.aborted === true;

  for (;;) {
    if (aborted()) return finish(true);
    const page = await listPage(deps, options, startingAfter);
    counts.pages += 1;
    reconcilePages.inc();
    // Stripe pages by id; an event created while paging can shift a page, so ids are deduplicated.
    const fresh = page.data.filter((event) => !seen.has(event.id));
    for (const event of fresh) {
      seen.add(event.id);
      newestCreatedS = Math.max(newestCreatedS ?? event.created, event.created);
    }
    counts.listed += fresh.length;
    const known = await knownEvents(
      deps.db,
      fresh.map((event) => event.id),
    );
    // Pages are newest first; within a page, enqueue oldest first.
    for (const event of [...fresh].reverse()) {
      const state = known.get(event.id);
      if (state === "applied") counts.alreadyApplied += 1;
      else if (state === "parked") {
        counts.parked += 1;
        parkedIds.push(event.id);
      } else {
        if (aborted()) return finish(true);
        if (deps.publish !== undefined) {
          await deps.publish(event);
          reconcileEventsMissing.inc({ type: event.type });
          deps.log.debug(
            { eventId: event.id, type: event.type, created: event.created },
            "enqueued a missing event",
          );
        }
        counts.enqueued += 1;
        enqueuedIds.push(event.id);
      }
    }
    deps.onPage?.({ ...counts });
    const last = page.data.at(-1);
    if (!page.has_more || last === undefined) return finish(false);
    startingAfter = last.id;
  }

  function finish(interrupted: boolean): PassResult {
    return { ...counts, enqueuedIds, parkedIds, newestCreatedS, interrupted };
  }
}

function listPage(
  deps: PassDeps,
  options: PassOptions,
  startingAfter: string | undefined,
): Promise<Stripe.ApiList<Stripe.Event>> {
  return deps.stripe.call(
    "events.list",
    (client) =>
      client.events.list({
        created: { gte: options.fromS },
        limit: options.pageSize ?? 100,
        ...(startingAfter === undefined ? {} : { starting_after: startingAfter }),
      }),
    {
      priority: "background",
      patient: options.patient,
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
    },
  );
}
