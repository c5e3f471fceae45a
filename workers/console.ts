import type { Config } from "../lib/config.ts";
import { createDb } from "../lib/db/database.ts";
import { closeAll, isMain, once, type Running, runProcess } from "../lib/lifecycle.ts";
import type { Logger } from "../lib/log.ts";
import { createBrokerProbe } from "../lib/ops/broker-probe.ts";
import { startMetricsScraper } from "../lib/ops/metrics-scraper.ts";
import type { ConsoleContext } from "../ops/console/console-context.ts";
import { createConsoleServer } from "../ops/console/console-server.ts";

/** Overrides for tests: shorter waits, another host. */
export interface ConsoleOptions {
  readonly host?: string;
  /** How often the processes of CONSOLE_METRICS_URLS are read. */
  readonly scrapeIntervalMs?: number;
  /** How long a page waits for PostgreSQL or RabbitMQ before it says it cannot reach them. */
  readonly serviceTimeoutMs?: number;
  readonly refreshSeconds?: number;
}

/** The `console` process: the ops web console (fleet, dead letters, audit) on CONSOLE_PORT. */
export async function startConsole(
  config: Config,
  log: Logger,
  options: ConsoleOptions = {},
): Promise<Running & { port: number }> {
  const timeoutMs = options.serviceTimeoutMs ?? 3000;
  // Pages read a little at a time; a replay holds one connection while the broker confirms.
  const db = createDb({ url: config.databaseUrl, poolSize: 4, applicationName: "billing-console" });
  const broker = createBrokerProbe(config.amqpUrl, { timeoutMs });
  const scraper = startMetricsScraper(config.consoleMetricsUrls, {
    intervalMs: options.scrapeIntervalMs ?? 5000,
    timeoutMs,
  });
  const ctx: ConsoleContext = {
    db,
    broker,
    scraper,
    amqpUrl: config.amqpUrl,
    amqpUser: config.amqpUser,
    publishTimeoutMs: config.publishTimeoutMs,
    retryDelaysMs: config.retryDelaysMs,
    dbTimeoutMs: timeoutMs,
    refreshSeconds: options.refreshSeconds ?? 5,
  };
  const server = createConsoleServer({ ctx, users: config.consoleUsers, log });
  const release = () => closeAll([() => scraper.stop(), () => broker.close(), () => db.destroy()]);
  let port: number;
  try {
    port = await server.listen(config.consolePort, options.host);
  } catch (error) {
    await release();
    throw error;
  }
  log.info({ port, users: config.consoleUsers.map((u) => u.name) }, "console listening");
  return { port, stop: once(() => closeAll([() => server.stop(), release])) };
}

if (isMain(import.meta.url)) void runProcess("console", startConsole);
