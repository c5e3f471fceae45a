import { connectBroker } from "../lib/amqp/connection.ts";
import type { Config } from "../lib/config.ts";
import { createDb } from "../lib/db/database.ts";
import { closeAll, isMain, once, type Running, runProcess } from "../lib/lifecycle.ts";
import type { Logger } from "../lib/log.ts";
import { startHealthServer } from "../lib/metrics/health-server.ts";

/** The `worker` process: consumes billing_queue and applies messages to Postgres. */
export async function startWorker(config: Config, log: Logger): Promise<Running> {
  const db = createDb({
    url: config.databaseUrl,
    poolSize: config.pgPoolSize,
    applicationName: "billing-worker",
  });
  const broker = connectBroker(config.amqpUrl, { log, name: "billing-worker" });
  const health =
    config.metricsPort === 0
      ? undefined
      : await startHealthServer({ port: config.metricsPort, isReady: () => broker.isConnected() });
  return {
    stop: once(() => closeAll([() => health?.close(), () => broker.close(), () => db.destroy()])),
  };
}

if (isMain(import.meta.url)) void runProcess("worker", startWorker);
