import type { ChannelWrapper } from "amqp-connection-manager";
import type { Options } from "amqplib";
import { TransientError } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import { confirmedPublish, type PublishCopy } from "./confirmed-publish.ts";
import { type Broker, openChannel } from "./connection.ts";
import { ensureBillingTopology } from "./ensure-billing-topology.ts";
import { names, type TopologyUse } from "./topology.ts";

export interface Publisher {
  /** Resolves only when the broker confirmed the message; rejects (broker_unavailable) otherwise. */
  publish(exchange: string, routingKey: string, content: Buffer, options: PublishOptions): Promise<void>;
  /** True while a channel is open and the connection is not blocked. */
  isReady(): boolean;
  close(): Promise<void>;
}

export type PublishOptions = Options.Publish & { messageId: string };

/**
 * A publisher on a confirm channel. It publishes on the raw channel, never through the
 * connection manager's buffer: while disconnected or blocked it fails fast, so that a caller can
 * answer 503 instead of holding a request (and memory) until the broker returns.
 */
export function createPublisher(
  broker: Broker,
  options: {
    log: Logger;
    timeoutMs: number;
    retryDelaysMs: readonly number[];
    name?: string;
    /** Default true: an unroutable message is a failure. False where no queue need be bound (billing.events). */
    mandatory?: boolean;
    /**
     * What it needs of the topology, checked at each connect: by default exchange billing and
     * billing_queue (a mandatory publish is refused while no queue takes it).
     */
    uses?: TopologyUse;
  },
): Publisher {
  const log = options.log.child({ subsystem: "publisher" });
  let current: PublishCopy | undefined;
  let blocked = false;

  broker.on("blocked", () => {
    blocked = true;
  });
  broker.on("unblocked", () => {
    blocked = false;
  });
  broker.on("disconnect", () => {
    current = undefined;
    blocked = false;
  });

  const wrapper: ChannelWrapper = openChannel(broker, {
    name: options.name ?? "publisher",
    log,
    setup: async (ch) => {
      await ensureBillingTopology(
        broker,
        ch,
        options.retryDelaysMs,
        log,
        options.uses ?? { exchanges: [names.exchange], queues: [names.queue] },
      );
      const publish = confirmedPublish(ch, options.timeoutMs, { mandatory: options.mandatory ?? true });
      ch.on("close", () => {
        if (current === publish) current = undefined;
      });
      current = publish;
    },
  });

  return {
    isReady: () => current !== undefined && !blocked,

    publish(exchange, routingKey, content, publishOptions) {
      const publish = current;
      if (publish === undefined) {
        return Promise.reject(new TransientError("broker_unavailable", "not connected to RabbitMQ"));
      }
      if (blocked) {
        return Promise.reject(new TransientError("broker_unavailable", "RabbitMQ is blocking publishes"));
      }
      return publish({ exchange, routingKey, content, options: publishOptions });
    },

    async close() {
      current = undefined;
      await wrapper.close();
    },
  };
}
