import type { ChannelWrapper } from "amqp-connection-manager";
import type { ConfirmChannel, Message, Options } from "amqplib";
import { TransientError } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
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
  const mandatory = options.mandatory ?? true;
  const log = options.log.child({ subsystem: "publisher" });
  let channel: ConfirmChannel | undefined;
  let blocked = false;
  // Unroutable mandatory messages come back (basic.return) before their ack.
  const returned = new Map<string, number>();

  broker.on("blocked", () => {
    blocked = true;
  });
  broker.on("unblocked", () => {
    blocked = false;
  });
  broker.on("disconnect", () => {
    channel = undefined;
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
      ch.on("return", (message: Message) => {
        const id = String(message.properties.messageId ?? "");
        returned.set(id, (returned.get(id) ?? 0) + 1);
      });
      ch.on("close", () => {
        if (channel === ch) channel = undefined;
      });
      channel = ch;
    },
  });

  function takeReturned(messageId: string): boolean {
    const count = returned.get(messageId);
    if (count === undefined) return false;
    if (count <= 1) returned.delete(messageId);
    else returned.set(messageId, count - 1);
    return true;
  }

  return {
    isReady: () => channel !== undefined && !blocked,

    publish(exchange, routingKey, content, publishOptions) {
      const ch = channel;
      if (ch === undefined) {
        return Promise.reject(new TransientError("broker_unavailable", "not connected to RabbitMQ"));
      }
      if (blocked) {
        return Promise.reject(new TransientError("broker_unavailable", "RabbitMQ is blocking publishes"));
      }
      return new Promise<void>((resolve, reject) => {
        let settled = false;
        const settle = (error?: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (error === undefined) resolve();
          else reject(error);
        };
        const timer = setTimeout(
          () =>
            settle(
              new TransientError(
                "broker_unavailable",
                `no confirm from RabbitMQ within ${options.timeoutMs} ms`,
              ),
            ),
          options.timeoutMs,
        );
        try {
          ch.publish(exchange, routingKey, content, { ...publishOptions, mandatory }, (err) => {
            if (mandatory && takeReturned(publishOptions.messageId)) {
              settle(
                new TransientError("broker_unavailable", `no queue is bound for ${exchange}/${routingKey}`),
              );
            } else if (err) {
              settle(
                new TransientError("broker_unavailable", `RabbitMQ refused the message: ${errorText(err)}`),
              );
            } else {
              settle();
            }
          });
        } catch (error) {
          settle(
            new TransientError("broker_unavailable", `publish failed: ${errorText(error)}`, { cause: error }),
          );
        }
      });
    },

    async close() {
      channel = undefined;
      await wrapper.close();
    },
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
