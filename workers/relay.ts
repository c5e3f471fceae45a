import { connectBroker } from "../lib/amqp/connection.ts";
import type { Config } from "../lib/config.ts";
import { createDb } from "../lib/db/database.ts";
import { closeAll, isMain, once, type Running, runProcess } from "../lib/lifecycle.ts";
import type { Logger } from "../lib/log.ts";
import { startHealthServer } from "../lib/metrics/health-server.ts";

/** The `relay` process: publishes the transactional outbox to billing.events. */
export async function startRelay(config: Config, log: Logger): Promise<Running> {
  const db = createDb({ url: config.databaseUrl, poolSize: 2, applicationName: "billing-relay" });
  const broker = connectBroker(config.amqpUrl, { log, name: "billing-relay" });
  const health =
    config.metricsPort === 0
      ? undefined
      : await startHealthServer({ port: config.metricsPort, isReady: () => broker.isConnected() });
  return {
    stop: once(() => closeAll([() => health?.close(), () => broker.close(), () => db.destroy()])),
  };
}

if (isMain(import.meta.url)) void runProcess("relay", startRelay);
