import { connectBroker } from "../lib/amqp/connection.ts";
import type { Config } from "../lib/config.ts";
import { createDb } from "../lib/db/database.ts";
import { createDatabaseGate } from "../lib/db/database-gate.ts";
import { closeAll, isMain, once, type Running, runProcess, stopDeadlineMs } from "../lib/lifecycle.ts";
import type { Logger } from "../lib/log.ts";
import { startHealthServer } from "../lib/metrics/health-server.ts";
import { createStripeApi } from "../lib/stripe/client.ts";
import { createRequestBudget } from "../lib/stripe/request-budget.ts";
import { applyBatch } from "../lib/worker/apply-batch.ts";
import { applyCommand } from "../lib/worker/apply-command.ts";
import { startConsumer } from "../lib/worker/consumer.ts";
import { startDlqArchiver } from "../lib/worker/dlq-archiver.ts";
import { startQueueSampler } from "../lib/worker/queue-sampler.ts";

// In-flight messages get this long to finish at stop; the rest of the budget closes the channels,
// the connection and the pool before lifecycle's deadline forces the exit.
const drainMs = Math.min(3000, stopDeadlineMs - 1000);
const queueSampleMs = 5000;

/** The `worker` process: consumes billing_queue and applies messages to Postgres; archives the DLQ. */
export async function startWorker(config: Config, log: Logger): Promise<Running> {
  if (config.stripeSecretKey === undefined) throw new Error("STRIPE_SECRET_KEY is required by worker");
  const db = createDb({
    url: config.databaseUrl,
    poolSize: config.pgPoolSize,
    applicationName: "billing-worker",
  });
  // Every Stripe call of the process waits for a token of one budget (STRIPE_RATE_LIMIT per second).
  const stripe = createStripeApi({
    secretKey: config.stripeSecretKey,
    apiUrl: config.stripeApiUrl,
    log,
    budget: createRequestBudget(config.stripeRateLimit),
  });
  const broker = connectBroker(config.amqpUrl, { log, name: "billing-worker" });
  // One gate for the process: an unreachable or read-only database pauses the consumer, the
  // archiver and the sampler's checks together, spends no message's retry budget, and /readyz
  // answers 503 until the gate's probe finds the database writable again.
  const gate = createDatabaseGate({ db, log, process: "worker" });
  const consumer = startConsumer(
    {
      broker,
      log,
      appliers: {
        events: (messages) => gate.run(() => applyBatch({ db, log }, messages)),
        command: (message) => gate.run(() => applyCommand({ db, log, stripe }, message)),
      },
      gate,
    },
    {
      prefetch: config.workerPrefetch,
      batchSize: config.workerBatchSize,
      // half the pool at most: batches keep connections while commands wait on Stripe
      commandsInFlight: Math.max(1, Math.floor(config.pgPoolSize / 2)),
      retryDelaysMs: config.retryDelaysMs,
      publishTimeoutMs: config.publishTimeoutMs,
      publishers: { trusted: new Set(config.stripeEventPublishers), self: config.amqpUser },
    },
  );
  const archiver = startDlqArchiver({ broker, db, log, gate }, { retryDelaysMs: config.retryDelaysMs });
  const sampler = startQueueSampler(
    { broker, db, log, gate },
    { intervalMs: queueSampleMs, retryDelaysMs: config.retryDelaysMs },
  );
  const health =
    config.metricsPort === 0
      ? undefined
      : await startHealthServer({
          port: config.metricsPort,
          isReady: () => consumer.isReady() && gate.isOpen(),
        });
  return {
    stop: once(() =>
      closeAll([
        // No resume during the stop: the probe ends first.
        () => gate.stop(),
        // Stop taking messages and let those in flight commit and ack, on both consumers at once.
        () => settleAll([consumer.stop(drainMs), archiver.stop(drainMs), sampler.stop()]),
        () => health?.close(),
        () => broker.close(),
        () => db.destroy(),
      ]),
    ),
  };
}

/** Waits for every promise; rethrows the first failure once all are settled. */
async function settleAll(promises: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}

if (isMain(import.meta.url)) void runProcess("worker", startWorker);
