import amqp, { type AmqpConnectionManager, type ChannelWrapper } from "amqp-connection-manager";
import type { ConfirmChannel } from "amqplib";
import type { Logger } from "../log.ts";
import { brokerConnected } from "../metrics/registry.ts";

export type Broker = AmqpConnectionManager;

/** A self-healing connection: reconnects after any loss; its channels re-run their setup. */
export function connectBroker(url: string, options: { log: Logger; name: string }): Broker {
  const broker = amqp.connect([url], {
    heartbeatIntervalInSeconds: 10,
    reconnectTimeInSeconds: 1,
    // Nagle's algorithm delays each publisher confirm by ~40 ms.
    connectionOptions: { noDelay: true, clientProperties: { connection_name: options.name } },
  });
  const log = options.log.child({ subsystem: "amqp" });
  let failures = 0;
  broker.on("connect", () => {
    failures = 0;
    brokerConnected.set(1);
    log.info("connected to RabbitMQ");
  });
  broker.on("disconnect", ({ err }) => {
    brokerConnected.set(0);
    log.warn({ reason: err?.message }, "disconnected from RabbitMQ; reconnecting");
  });
  broker.on("connectFailed", ({ err }) => {
    brokerConnected.set(0);
    failures += 1;
    // One line at the first failure and then every 30th, not one a second.
    if (failures === 1 || failures % 30 === 0) {
      log.warn({ reason: err.message, attempts: failures }, "cannot connect to RabbitMQ; retrying");
    }
  });
  broker.on("blocked", ({ reason }) => log.warn({ reason }, "RabbitMQ blocked the connection"));
  broker.on("unblocked", () => log.info("RabbitMQ unblocked the connection"));
  return broker;
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
