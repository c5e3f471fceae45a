import { connectBroker } from "../lib/amqp/connection.ts";
import { createPublisher } from "../lib/amqp/publisher.ts";
import { names } from "../lib/amqp/topology.ts";
import type { Config } from "../lib/config.ts";
import { createDb } from "../lib/db/database.ts";
import { createDatabaseGate } from "../lib/db/database-gate.ts";
import { closeAll, isMain, once, type Running, runProcess } from "../lib/lifecycle.ts";
import type { Logger } from "../lib/log.ts";
import { startHealthServer } from "../lib/metrics/health-server.ts";
import { type OutboxRelayOptions, startOutboxRelay } from "../lib/relay/outbox-relay.ts";

/** The `relay` process: publishes the transactional outbox to billing.events. */
export async function startRelay(
  config: Config,
  log: Logger,
  overrides: Partial<OutboxRelayOptions> = {},
): Promise<Running> {
  // One connection for the batch transaction, one for the lag sampler.
  const db = createDb({ url: config.databaseUrl, poolSize: 2, applicationName: "billing-relay" });
  const broker = connectBroker(config.amqpUrl, { log, name: "billing-relay" });
  const publisher = createPublisher(broker, {
    log,
    timeoutMs: config.publishTimeoutMs,
    retryDelaysMs: config.retryDelaysMs,
    name: "relay",
    // Other services bind their own queues to billing.events; an event nobody listens to is delivered.
    mandatory: false,
    uses: { exchanges: [names.events], queues: [] },
  });
  // Rows are not claimed while PostgreSQL is unreachable or read-only; the relay resumes by itself.
  const gate = createDatabaseGate({ db, log, process: "relay" });
  const health =
    config.metricsPort === 0
      ? undefined
      : await startHealthServer({
          port: config.metricsPort,
          isReady: () => publisher.isReady() && gate.isOpen(),
        });
  const relay = startOutboxRelay({ db, publisher, log, gate }, overrides);
  return {
    stop: once(() =>
      closeAll([
        () => relay.stop(),
        () => gate.stop(),
        () => health?.close(),
        // Closing the channel fails any confirm still awaited, so an undrained batch rolls back.
        () => publisher.close(),
        () => broker.close(),
        () => db.destroy(),
      ]),
    ),
  };
}

if (isMain(import.meta.url)) void runProcess("relay", startRelay);
