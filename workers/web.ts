import { createServer } from "node:http";
import { connectBroker } from "../lib/amqp/connection.ts";
import { createPublisher } from "../lib/amqp/publisher.ts";
import type { Config } from "../lib/config.ts";
import { closeAll, isMain, once, type Running, runProcess } from "../lib/lifecycle.ts";
import type { Logger } from "../lib/log.ts";
import { serveHealth } from "../lib/metrics/health-server.ts";

/** The `web` process: the ingester (verifies and enqueues; no database). */
export async function startWeb(config: Config, log: Logger): Promise<Running & { port: number }> {
  const broker = connectBroker(config.amqpUrl, { log, name: "billing-web" });
  const publisher = createPublisher(broker, {
    log,
    timeoutMs: config.publishTimeoutMs,
    retryDelaysMs: config.retryDelaysMs,
  });
  const server = createServer((req, res) => {
    serveHealth(req, res, publisher.isReady).then((served) => {
      if (!served) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "not found" }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(config.port, resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.port;
  log.info({ port }, "ingester listening");
  return {
    port,
    stop: once(() =>
      closeAll([
        () => new Promise<void>((resolve) => server.close(() => resolve())),
        () => publisher.close(),
        () => broker.close(),
      ]),
    ),
  };
}

if (isMain(import.meta.url)) void runProcess("web", startWeb);
