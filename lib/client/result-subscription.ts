import type { AmqpConnectionManager, ChannelWrapper } from "amqp-connection-manager";
import type { Channel, ConsumeMessage } from "amqplib";
import { openRecoveringChannel } from "../amqp/channel-recovery.ts";
import { names } from "../amqp/topology.ts";
import { ensureBillingExchange } from "./billing-exchange.ts";
import { type CommandResult, readCommandResult } from "./command-result.ts";
import { withTimeout } from "./with-timeout.ts";

/** Receives one command result; a rejection (or throw) has the result delivered again later. */
export type ResultHandler = (result: CommandResult) => void | Promise<void>;

/** Where results are read from. */
export interface OnResultOptions {
  /**
   * A durable (quorum) queue of this name, kept while the service is down: no result is missed.
   * Without it, an exclusive auto-delete queue lives as long as the connection: results published
   * while the service is disconnected are not seen.
   */
  queue?: string;
  /** Results handled at once (default 10); handlers of different results may run concurrently. */
  prefetch?: number;
}

/** A running onResult consumer. */
export interface ResultSubscription {
  /** The queue results are read from (the server-named one when no queue was given). */
  readonly queue: () => string;
  /** Stops consuming; results not acknowledged yet stay in a named queue. Idempotent. */
  stop(): Promise<void>;
}

// A handler that fails is given the same result again after this long, not in a tight loop.
const redeliveryDelayMs = 1000;

/** Binds a queue to billing.events for command.succeeded / command.failed and hands each result to `handler`. */
export async function subscribeToResults(
  deps: { connection: AmqpConnectionManager; timeoutMs: number; onError: (error: Error) => void },
  handler: ResultHandler,
  options: OnResultOptions = {},
): Promise<ResultSubscription> {
  const named = options.queue;
  if (named !== undefined && (named.trim() === "" || named.startsWith("amq."))) {
    throw new RangeError(`onResult: queue ${JSON.stringify(named)} must be a name not starting with "amq."`);
  }
  const prefetch = options.prefetch ?? 10;
  if (!Number.isSafeInteger(prefetch) || prefetch < 1 || prefetch > 65535) {
    throw new RangeError("onResult: prefetch must be an integer from 1 to 65535");
  }
  let queueName = named ?? "";
  let setupError: Error | undefined;

  const deliver = async (channel: Channel, message: ConsumeMessage): Promise<void> => {
    const result = readCommandResult(message.content);
    if (result === undefined) {
      settle(() => channel.ack(message));
      deps.onError(
        new Error(
          `billing client: dropped a message on ${names.events} that is not a command result ` +
            `(routing key ${message.fields.routingKey}, messageId ${String(message.properties.messageId)})`,
        ),
      );
      return;
    }
    try {
      await handler(result);
      settle(() => channel.ack(message));
    } catch (error) {
      deps.onError(
        new Error(`billing client: the result handler failed for command ${result.commandId}; redelivering`, {
          cause: error,
        }),
      );
      setTimeout(() => settle(() => channel.nack(message, false, true)), redeliveryDelayMs).unref();
    }
  };

  const wrapper: ChannelWrapper = openRecoveringChannel<Channel>(deps.connection, {
    name: `billing-client-results${named === undefined ? "" : `:${named}`}`,
    confirm: false,
    report: (event, detail) =>
      deps.onError(
        new Error(
          `billing client: channel ${detail.channel} ${event}${detail.reason ? `: ${detail.reason}` : ""}`,
        ),
      ),
    setup: async (channel) => {
      try {
        await ensureBillingExchange(deps.connection, channel, names.events, deps.onError);
        const { queue } =
          named === undefined
            ? await channel.assertQueue("", { exclusive: true, autoDelete: true, durable: false })
            : await channel.assertQueue(named, { durable: true, arguments: { "x-queue-type": "quorum" } });
        await channel.bindQueue(queue, names.events, "command.succeeded");
        await channel.bindQueue(queue, names.events, "command.failed");
        await channel.prefetch(prefetch);
        await channel.consume(queue, (message) => {
          if (message !== null) void deliver(channel, message);
          // RabbitMQ cancelled us (the queue was deleted): closing the channel reconnects, which
          // declares the queue again and consumes it
          else channel.close().catch(() => undefined);
        });
        queueName = queue;
      } catch (error) {
        setupError = error instanceof Error ? error : new Error(String(error));
        throw error;
      }
    },
  });
  wrapper.on("error", (error: Error) => deps.onError(error));

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= wrapper.close();
    return stopped;
  };
  try {
    await withTimeout(wrapper.waitForConnect(), deps.timeoutMs, () =>
      setupError === undefined
        ? `billing client: not consuming results within ${deps.timeoutMs} ms`
        : `billing client: cannot consume results: ${setupError.message}`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { queue: () => queueName, stop };
}

// Acking on a channel that has closed throws; the broker then redelivers the message by itself.
function settle(action: () => void): void {
  try {
    action();
  } catch {
    // the channel is gone: the unacknowledged message goes back to its queue
  }
}
