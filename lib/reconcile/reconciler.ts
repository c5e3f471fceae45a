import { setTimeout as delay } from "node:timers/promises";
import type { Publisher } from "../amqp/publisher.ts";
import { stripeEventMessage } from "../amqp/stripe-event-message.ts";
import { names } from "../amqp/topology.ts";
import type { Db } from "../db/database.ts";
import { errorCode, errorMessage } from "../domain/errors.ts";
import { advanceCursor, cursorLagS, passWindow } from "../domain/reconcile-window.ts";
import type { Logger } from "../log.ts";
import {
  databaseUp,
  reconcileActive,
  reconcileCursorLag,
  reconcileIntervalSeconds,
  reconcileLastFoundMissing,
  reconcileLastSuccess,
  reconcilePasses,
  reconcileRetentionGap,
} from "../metrics/registry.ts";
import type { StripeApi } from "../stripe/client.ts";
import {
  markPassStarted,
  markPassSucceeded,
  readCursor,
  readCursorLocked,
  type StoredCursor,
  stripeEventsStream,
} from "./cursor-store.ts";
import type { LeaderLock } from "./leader-lock.ts";
import { type PassResult, reconcilePass } from "./reconcile-pass.ts";

// The `reconciler` loop. Every interval each instance tries the lock; the one holding it runs a
// pass from the stored cursor and advances the cursor only once the broker confirmed every event
// the pass enqueued. A standby only reads the cursor, so its metrics show the fleet's reconciliation.

export interface ReconcilerDeps {
  readonly db: Db;
  readonly lock: LeaderLock;
  readonly stripe: StripeApi;
  readonly publisher: Publisher;
  /** The broker user it publishes as (RabbitMQ checks user_id against the connection's user). */
  readonly userId: string;
  readonly log: Logger;
}

export interface ReconcilerOptions {
  readonly intervalMs: number;
  readonly lookbackS: number;
  readonly overlapS: number;
  /** How long stop() waits for a pass in flight (it is then abandoned; the cursor stays). */
  readonly drainMs: number;
}

const brokerWaitMs = 5000;

/** What one tick did, for tests and logs. */
export type TickOutcome =
  | { readonly kind: "standby" }
  | { readonly kind: "ok"; readonly pass: PassResult }
  | { readonly kind: "failed"; readonly reason: string }
  | { readonly kind: "interrupted" };

export interface Reconciler {
  /** True while this instance holds the lock. */
  isActive(): boolean;
  /** Every tick's outcome so far, oldest first. */
  outcomes(): readonly TickOutcome[];
  /** Resolves when the loop has ended. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** Starts the loop; the first tick runs at once. */
export function startReconciler(deps: ReconcilerDeps, options: ReconcilerOptions): Reconciler {
  const log = deps.log.child({ subsystem: "reconciler" });
  const stopping = new AbortController();
  const outcomes: TickOutcome[] = [];
  let passAbort: AbortController | undefined;
  const stream = stripeEventsStream;
  reconcileIntervalSeconds.set(options.intervalMs / 1000);
  reconcileActive.set(0);

  deps.lock.onLost((reason) => {
    reconcileActive.set(0);
    // A pass without the lock must not go on enqueueing: the new active one does that now.
    passAbort?.abort(new Error(`lost the lock: ${reason}`));
  });

  const publish = (event: { id: string; type: string }) => {
    const message = stripeEventMessage({
      eventId: event.id,
      eventType: event.type,
      source: "reconcile",
      userId: deps.userId,
    });
    return deps.publisher.publish(
      names.exchange,
      message.routingKey,
      Buffer.from(JSON.stringify(event)),
      message.options,
    );
  };

  async function tick(): Promise<TickOutcome> {
    if (!deps.lock.held()) {
      if (!(await deps.lock.tryAcquire())) {
        reconcileActive.set(0);
        await showStoredCursor();
        return { kind: "standby" };
      }
      log.info("holds the reconciler lock: this instance is the active one");
    }
    reconcileActive.set(1);
    passAbort = new AbortController();
    const signal = AbortSignal.any([passAbort.signal, stopping.signal]);
    try {
      return await activePass(signal);
    } catch (error) {
      if (signal.aborted) return interrupted();
      reconcilePasses.inc({ outcome: "failed" });
      log.warn(
        { code: errorCode(error), reason: errorMessage(error) },
        "reconcile pass failed; the cursor stays where it was and the next pass tries again",
      );
      return { kind: "failed", reason: errorMessage(error) };
    } finally {
      passAbort = undefined;
      await showStoredCursor();
    }
  }

  function interrupted(): TickOutcome {
    reconcilePasses.inc({ outcome: "interrupted" });
    log.info("reconcile pass interrupted; the cursor stays where it was");
    return { kind: "interrupted" };
  }

  async function activePass(signal: AbortSignal): Promise<TickOutcome> {
    // Right after start the broker connection may still be coming up: give it a moment.
    for (let waited = 0; !deps.publisher.isReady() && waited < brokerWaitMs; waited += 100) {
      await delay(100, undefined, { signal });
    }
    if (!deps.publisher.isReady()) throw new Error("not connected to RabbitMQ: nothing can be enqueued");
    const cursor = await readCursorLocked(deps.lock, deps.db, stream);
    const startedS = Math.floor(Date.now() / 1000);
    const window = passWindow(cursor, startedS, options);
    if (window.lostUntilS !== null)
      reportRetentionGap(cursor, window.coveredThroughS, window.lostUntilS, startedS);
    await markPassStarted(deps.lock, deps.db, stream);
    const pass = await reconcilePass(
      { stripe: deps.stripe, db: deps.db, log, publish, signal },
      { fromS: window.fromS, patient: true },
    );
    if (pass.interrupted || signal.aborted) return interrupted();
    const next = advanceCursor(cursor, { startedS, newestCreatedS: pass.newestCreatedS });
    // Every publish above resolved on its confirm, so the cursor may move past them.
    await markPassSucceeded(deps.lock, deps.db, stream, next, pass.enqueued);
    reconcilePasses.inc({ outcome: "ok" });
    const summary = {
      from: new Date(window.fromS * 1000).toISOString(),
      listed: pass.listed,
      pages: pass.pages,
      alreadyApplied: pass.alreadyApplied,
      parked: pass.parked,
      enqueued: pass.enqueued,
      cursorCreated: next.cursorCreated,
    };
    if (pass.enqueued > 0) {
      log.warn(
        { ...summary, enqueuedIds: pass.enqueuedIds.slice(0, 100) },
        "reconcile pass found events never applied and enqueued them: webhooks are being missed",
      );
    } else log.info(summary, "reconcile pass done: nothing missing");
    return { kind: "ok", pass };
  }

  function reportRetentionGap(
    cursor: StoredCursor | undefined,
    coveredS: number | null,
    lostUntilS: number,
    nowS: number,
  ): void {
    reconcileRetentionGap.set(nowS);
    const from = coveredS === null ? "?" : new Date(coveredS * 1000).toISOString();
    const until = new Date(lostUntilS * 1000).toISOString();
    log.error(
      { coveredThrough: from, lostUntil: until, lastSuccessAt: cursor?.lastSuccessAt ?? null },
      `reconcile cursor is older than Stripe's 30-day event retention: events created from ${from} to ${until} can no longer be listed; check them with a backfill from Stripe's list endpoints (see the runbook)`,
    );
  }

  /** The cursor as stored, whoever wrote it: every instance exports it. */
  async function showStoredCursor(): Promise<void> {
    try {
      const cursor = await readCursor(deps.db, stream);
      databaseUp.set(1);
      reconcileLastSuccess.set(cursor?.lastSuccessAt ? cursor.lastSuccessAt.getTime() / 1000 : 0);
      reconcileLastFoundMissing.set(cursor?.lastFoundMissing ?? 0);
      const lag = cursorLagS(cursor, Math.floor(Date.now() / 1000));
      if (lag !== null) reconcileCursorLag.set(lag);
    } catch (error) {
      databaseUp.set(0);
      log.warn({ reason: errorMessage(error) }, "cannot read the reconcile cursor");
    }
  }

  async function loop(): Promise<void> {
    while (!stopping.signal.aborted) {
      const started = Date.now();
      outcomes.push(await tick());
      const waitMs = Math.max(0, options.intervalMs - (Date.now() - started));
      try {
        await delay(waitMs, undefined, { signal: stopping.signal });
      } catch {
        // stopping
      }
    }
  }

  const done = loop().then(async () => {
    await deps.lock.release();
    reconcileActive.set(0);
    log.info("reconciler stopped");
  });
  log.info(
    { intervalMs: options.intervalMs, lookbackS: options.lookbackS, overlapS: options.overlapS },
    "reconciler started",
  );

  return {
    isActive: () => deps.lock.held(),
    outcomes: () => outcomes,
    done,
    async stop() {
      stopping.abort();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          log.warn(
            { drainMs: options.drainMs },
            "reconcile pass still running at stop; abandoned (the cursor stays)",
          );
          resolve();
        }, options.drainMs);
      });
      await Promise.race([done, deadline]);
      clearTimeout(timer);
      await deps.lock.release();
    },
  };
}
