import amqp, { type AmqpConnectionManager, type ChannelWrapper } from "amqp-connection-manager";
import type { ConfirmChannel } from "amqplib";
import type { Logger } from "../log.ts";
import { brokerConnected } from "../metrics/registry.ts";
import { nodesInTryOrder } from "./broker-nodes.ts";
import { openRecoveringChannel, reconnectByClosing } from "./channel-recovery.ts";
import { nodeName } from "./node-name.ts";

export type Broker = AmqpConnectionManager;

/**
 * A self-healing connection to one node or a cluster (`url` may list nodes comma-separated): after
 * any loss it connects again, to the next node of the list, and its channels re-run their setup.
 */
export function connectBroker(url: string, options: { log: Logger; name: string }): Broker {
  const broker = amqp.connect(nodesInTryOrder(url), {
    heartbeatIntervalInSeconds: 10,
    reconnectTimeInSeconds: 1,
    // Nagle's algorithm delays each publisher confirm by ~40 ms.
    connectionOptions: { noDelay: true, clientProperties: { connection_name: options.name } },
  });
  const log = options.log.child({ subsystem: "amqp" });
  let failures = 0;
  broker.on("connect", ({ url: node }) => {
    failures = 0;
    brokerConnected.set(1);
    log.info({ node: nodeName(node) }, "connected to RabbitMQ");
  });
  broker.on("disconnect", ({ err }) => {
    brokerConnected.set(0);
    log.warn({ reason: err?.message }, "disconnected from RabbitMQ; reconnecting");
  });
  broker.on("connectFailed", ({ err, url: node }) => {
    brokerConnected.set(0);
    failures += 1;
    // One line at the first failure and then every 30th, not one a second.
    if (failures === 1 || failures % 30 === 0) {
      log.warn(
        { reason: err.message, node: nodeName(node), attempts: failures },
        "cannot connect to RabbitMQ; retrying",
      );
    }
  });
  broker.on("blocked", ({ reason }) => log.warn({ reason }, "RabbitMQ blocked the connection"));
  broker.on("unblocked", () => log.info("RabbitMQ unblocked the connection"));
  reconnectByClosing(broker);
  return broker;
}

/** A confirm channel whose `setup` runs on every (re)connect; a channel closed by an error forces a reconnect. */
export function openChannel(
  broker: Broker,
  options: { name: string; log: Logger; setup: (channel: ConfirmChannel) => Promise<void> },
): ChannelWrapper {
  const wrapper = openRecoveringChannel<ConfirmChannel>(broker, {
    name: options.name,
    confirm: true,
    setup: options.setup,
    report: (event, detail) =>
      options.log.warn(
        detail,
        event === "error" ? "channel error" : "channel closed by the broker; reconnecting",
      ),
  });
  wrapper.on("error", (err: Error) =>
    options.log.error({ channel: options.name, reason: err.message }, "channel setup failed"),
  );
  return wrapper;
}
