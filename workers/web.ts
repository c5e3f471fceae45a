import { connectBroker } from "../lib/amqp/connection.ts";
import { createPublisher } from "../lib/amqp/publisher.ts";
import type { CommandToken, Config } from "../lib/config.ts";
import { commandRoute, commandsPath } from "../lib/http/command-route.ts";
import { createEnqueue } from "../lib/http/enqueue.ts";
import { createIngestServer, type ServerTimeouts } from "../lib/http/server.ts";
import { createRateLimiter } from "../lib/http/token-bucket.ts";
import { webhookPath, webhookRoute } from "../lib/http/webhook-route.ts";
import { closeAll, isMain, once, type Running, runProcess, stopDeadlineMs } from "../lib/lifecycle.ts";
import type { Logger } from "../lib/log.ts";
import { createWebhookVerifier } from "../lib/stripe/verify.ts";

// Requests in progress get this long to finish on stop; the rest of the deadline closes the broker.
const drainMs = stopDeadlineMs - 1000;

/** The `web` process: the ingester (verifies and enqueues; no database). */
export async function startWeb(
  config: Config,
  log: Logger,
  options: { timeouts?: ServerTimeouts; host?: string } = {},
): Promise<Running & { port: number }> {
  const broker = connectBroker(config.amqpUrl, { log, name: "billing-web" });
  const publisher = createPublisher(broker, {
    log,
    timeoutMs: config.publishTimeoutMs,
    retryDelaysMs: config.retryDelaysMs,
  });
  const enqueue = createEnqueue(publisher, config.ingestMaxInFlight);
  const http = createIngestServer({
    routes: {
      [webhookPath]: webhookRoute({
        verify: createWebhookVerifier(config.stripeWebhookSecrets, config.stripeWebhookToleranceS),
        enqueue,
        userId: config.amqpUser,
      }),
      [commandsPath]: commandRoute({
        tokens: config.commandTokens,
        limiter: createRateLimiter<CommandToken>(config.commandRateLimit),
        enqueue,
        userId: config.amqpUser,
      }),
    },
    isReady: publisher.isReady,
    log,
    ...(options.timeouts === undefined ? {} : { timeouts: options.timeouts }),
  });
  const closeBroker = () => closeAll([() => publisher.close(), () => broker.close()]);
  let port: number;
  try {
    port = await http.listen(config.port, options.host);
  } catch (error) {
    await closeBroker();
    throw error;
  }
  log.info({ port }, "ingester listening");
  return {
    port,
    // Stop accepting, drain (publishes confirmed or refused), then close the channel and connection.
    stop: once(() => closeAll([() => http.stop(drainMs), closeBroker])),
  };
}

if (isMain(import.meta.url)) void runProcess("web", startWeb);
