import amqp, { type AmqpConnectionManager, type ChannelWrapper } from "amqp-connection-manager";
import type { ConfirmChannel } from "amqplib";
import type { Logger } from "../log.ts";
import { brokerConnected } from "../metrics/registry.ts";
import { nodesInTryOrder } from "./broker-nodes.ts";

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
  broker.reconnect = () => dropConnection(broker);
  return broker;
}

/**
 * Closes the current connection so that the manager connects again, as after any loss. It replaces
 * the manager's own reconnect(), which strips every listener from the connection it closes, its
 * no-op 'error' listener included: when the broker closes or resets that connection at the same
 * moment (a deleted vhost, a dying node), the socket error is then emitted with no listener and
 * kills the process ("write ECONNRESET"); and when the close is never answered, the manager never
 * connects again. Here the listeners stay: the manager sees the 'close' and reconnects after
 * reconnectTimeInSeconds, however the close ends.
 */
function dropConnection(broker: Broker): void {
  const connection = broker.connection;
  if (connection === undefined) return;
  connection.close().catch(() => {
    // already closing or closed: its 'close' event does the reconnect
  });
}

/** A confirm channel whose `setup` runs on every (re)connect; a channel closed by an error forces a reconnect. */
export function openChannel(
  broker: Broker,
  options: { name: string; log: Logger; setup: (channel: ConfirmChannel) => Promise<void> },
): ChannelWrapper {
  let closing = false;
  const wrapper = broker.createChannel({
    name: options.name,
    confirm: true,
    json: false,
    setup: async (channel: ConfirmChannel) => {
      // amqplib throws an 'error' event nobody listens to: a channel the broker closes (a missing
      // exchange, a bad ack) would take the process down. Logged here; the close below recovers.
      channel.on("error", (error: Error) =>
        options.log.warn({ channel: options.name, reason: error.message }, "channel error"),
      );
      channel.on("close", () => {
        // The wrapper only makes a new channel on reconnect; a channel-level error (e.g. a bad
        // ack) would otherwise leave it dead while the connection lives. A channel that closes
        // because its connection is going is left to the ordinary reconnect.
        const connection = broker.connection;
        setTimeout(() => {
          if (!closing && connection !== undefined && broker.connection === connection) {
            options.log.warn({ channel: options.name }, "channel closed by the broker; reconnecting");
            broker.reconnect();
          }
        }, 1000).unref();
      });
      await options.setup(channel);
    },
  });
  wrapper.on("error", (err: Error) =>
    options.log.error({ channel: options.name, reason: err.message }, "channel setup failed"),
  );
  const close = wrapper.close.bind(wrapper);
  wrapper.close = async () => {
    closing = true;
    await close();
  };
  return wrapper;
}

/** host:port/vhost of a node URL, for logs: never its credentials. */
export function nodeName(node: unknown): string | undefined {
  if (typeof node !== "string") return undefined;
  try {
    const url = new URL(node);
    return `${url.host}${url.pathname === "" ? "/" : url.pathname}`;
  } catch {
    return undefined;
  }
}
