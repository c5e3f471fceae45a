import { connectBroker } from "../lib/amqp/connection.ts";
import { startConsumer } from "../lib/amqp/consumer.ts";
import type { Config } from "../lib/config.ts";
import { createDb } from "../lib/db/database.ts";
import { createDatabaseGate } from "../lib/db/database-gate.ts";
import { dispatch } from "../lib/handlers/dispatch.ts";
import { closeAll, isMain, once, type Running, runProcess, stopDeadlineMs } from "../lib/lifecycle.ts";
import type { Logger } from "../lib/log.ts";
import { startHealthServer } from "../lib/metrics/health-server.ts";
import { createStripeApi } from "../lib/stripe/client.ts";
import { applyBatch, applyMessage } from "../lib/worker/apply-message.ts";
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
  const stripe = createStripeApi({ secretKey: config.stripeSecretKey, apiUrl: config.stripeApiUrl, log });
  const broker = connectBroker(config.amqpUrl, { log, name: "billing-worker" });
  // One gate for the process: an unreachable or read-only database pauses the consumer, the
  // archiver and the sampler's checks together, spends no message's retry budget, and /readyz
  // answers 503 until the gate's probe finds the database writable again.
  const gate = createDatabaseGate({ db, log, process: "worker" });
  const applyDeps = { db, log, stripe, dispatch };
  const consumer = startConsumer(
    {
      broker,
      log,
      apply: (message) => gate.run(() => applyMessage(applyDeps, message)),
      applyBatch: (messages) => gate.run(() => applyBatch(applyDeps, messages)),
      gate,
    },
    {
      prefetch: config.workerPrefetch,
      batchSize: config.workerBatchSize,
      retryDelaysMs: config.retryDelaysMs,
      publishTimeoutMs: config.publishTimeoutMs,
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
