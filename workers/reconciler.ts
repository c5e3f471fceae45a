import { connectBroker } from "../lib/amqp/connection.ts";
import { createPublisher } from "../lib/amqp/publisher.ts";
import type { Config } from "../lib/config.ts";
import { createDb } from "../lib/db/database.ts";
import { closeAll, isMain, once, type Running, runProcess, stopDeadlineMs } from "../lib/lifecycle.ts";
import type { Logger } from "../lib/log.ts";
import { startHealthServer } from "../lib/metrics/health-server.ts";
import { stripeEventsStream } from "../lib/reconcile/cursor-store.ts";
import { createLeaderLock } from "../lib/reconcile/leader-lock.ts";
import { type Reconciler, startReconciler } from "../lib/reconcile/reconciler.ts";
import { createStripeApi, type StripeApiOptions } from "../lib/stripe/client.ts";
import { createRequestBudget } from "../lib/stripe/request-budget.ts";

/** What tests may change of the process (never behaviour: only timeouts and backoff). */
export type ReconcilerOverrides = Pick<StripeApiOptions, "timeoutMs" | "patientBackoff">;

/** The `reconciler` process: one active instance pages Stripe's Events API and enqueues what was missed. */
export async function startReconcilerProcess(
  config: Config,
  log: Logger,
  overrides: ReconcilerOverrides = {},
): Promise<Running & { readonly reconciler: Reconciler }> {
  if (config.stripeSecretKey === undefined) throw new Error("STRIPE_SECRET_KEY is required by reconciler");
  // The pool serves the known-event look-ups and the standby's cursor reads; the lock has its own connection.
  const db = createDb({ url: config.databaseUrl, poolSize: 2, applicationName: "billing-reconciler" });
  const lock = createLeaderLock({
    url: config.databaseUrl,
    name: `billing.reconcile_cursor:${stripeEventsStream}`,
    db,
    log,
  });
  const stripe = createStripeApi({
    secretKey: config.stripeSecretKey,
    apiUrl: config.stripeApiUrl,
    log,
    budget: createRequestBudget(config.stripeRateLimit),
    ...overrides,
  });
  const broker = connectBroker(config.amqpUrl, { log, name: "billing-reconciler" });
  const publisher = createPublisher(broker, {
    log,
    timeoutMs: config.publishTimeoutMs,
    retryDelaysMs: config.retryDelaysMs,
    name: "reconciler",
  });
  const reconciler = startReconciler(
    { db, lock, stripe, publisher, userId: config.amqpUser, log },
    {
      intervalMs: config.reconcileIntervalS * 1000,
      lookbackS: config.reconcileLookbackS,
      overlapS: config.reconcileOverlapS,
      drainMs: Math.min(2000, stopDeadlineMs - 1500),
    },
  );
  const health =
    config.metricsPort === 0
      ? undefined
      : await startHealthServer({ port: config.metricsPort, isReady: () => publisher.isReady() });
  return {
    reconciler,
    stop: once(() =>
      closeAll([
        () => reconciler.stop(),
        () => health?.close(),
        () => publisher.close(),
        () => broker.close(),
        () => db.destroy(),
      ]),
    ),
  };
}

if (isMain(import.meta.url)) void runProcess("reconciler", startReconcilerProcess);
