import amqp from "amqp-connection-manager";
import type { ConfirmChannel } from "amqplib";
import { nodesInTryOrder } from "../amqp/broker-nodes.ts";
import { openRecoveringChannel, reconnectByClosing } from "../amqp/channel-recovery.ts";
import { confirmedPublish, type PublishCopy, UnroutableError } from "../amqp/confirmed-publish.ts";
import { names } from "../amqp/topology.ts";
import type { CommandType } from "../domain/command-types.ts";
import { type CommandOf, validateCommand } from "../domain/commands.ts";
import { ensureBillingExchange } from "./billing-exchange.ts";
import { commandMessage } from "./command-message.ts";
import { InvalidCommandError } from "./invalid-command-error.ts";
import {
  type OnResultOptions,
  type ResultHandler,
  type ResultSubscription,
  subscribeToResults,
} from "./result-subscription.ts";
import { withTimeout } from "./with-timeout.ts";

/** How to reach billing. */
export interface BillingClientOptions {
  /**
   * AMQP URL of billing's RabbitMQ, vhost included, e.g. `amqp://user:pass@rabbit:5672/billing`; for a
   * cluster, its nodes comma-separated: the client fails over between them.
   */
  url: string;
  /** This service's name, sent as the `x-source` header of every command (default `unnamed-service`). */
  service?: string;
  /** How long to wait for the connection, for each publish confirm and for onResult to start (default 10 000 ms). */
  timeoutMs?: number;
  /**
   * Problems no call can reject with: a dropped connection (the client reconnects by itself), a
   * result handler that threw (the result comes again), a malformed message on billing.events.
   * Default: `process.emitWarning`.
   */
  onError?: (error: Error) => void;
}

/** A connection to billing: send commands, receive their outcomes. */
export interface BillingClient {
  /**
   * Validates the command, publishes it and resolves once RabbitMQ has confirmed it is queued for
   * billing. Rejects with InvalidCommandError (nothing sent; fix the command), or with an Error when
   * it is not confirmed in time: then send it again with the SAME id, which is always safe (billing
   * applies one id once).
   */
  send<T extends CommandType>(command: CommandOf<T>): Promise<void>;
  /**
   * Calls `handler` with the outcome of every command billing finishes (of every service: filter
   * on `commandId`). Delivery is at least once: dedupe on `eventId` if it matters. Resolves once
   * consuming has started.
   */
  onResult(handler: ResultHandler, options?: OnResultOptions): Promise<ResultSubscription>;
  /** Stops every onResult consumer and closes the connection. Idempotent. */
  close(): Promise<void>;
}

const defaultTimeoutMs = 10_000;

/** Connects to billing's RabbitMQ; resolves once connected, rejects when it cannot be within `timeoutMs`. */
export async function connectBillingClient(options: BillingClientOptions): Promise<BillingClient> {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)
    throw new RangeError("timeoutMs must be a positive integer");
  const service = options.service ?? "unnamed-service";
  if (service.trim() === "" || service.length > 255)
    throw new RangeError("service must be 1 to 255 characters");
  const onError = options.onError ?? ((error: Error) => process.emitWarning(error));

  const connection = amqp.connect(nodesInTryOrder(options.url), {
    heartbeatIntervalInSeconds: 10,
    reconnectTimeInSeconds: 1,
    connectionOptions: { noDelay: true, clientProperties: { connection_name: `billing-client ${service}` } },
  });
  reconnectByClosing(connection);
  connection.on("disconnect", ({ err }) => {
    if (err !== undefined)
      onError(new Error(`billing client: disconnected from RabbitMQ (${err.message}); reconnecting`));
  });
  try {
    await connection.connect({ timeout: timeoutMs });
  } catch (error) {
    await connection.close();
    throw new Error(
      `billing client: cannot connect to RabbitMQ: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }

  // Commands go out on the raw confirm channel of the moment, through the fleet's confirmed publish.
  let current: PublishCopy | undefined;
  connection.on("disconnect", () => {
    current = undefined;
  });
  const publisher = openRecoveringChannel<ConfirmChannel>(connection, {
    name: "billing-client-commands",
    confirm: true,
    report: (event, detail) =>
      onError(
        new Error(
          `billing client: channel ${detail.channel} ${event}${detail.reason ? `: ${detail.reason}` : ""}`,
        ),
      ),
    setup: async (channel) => {
      // publishing never hits a missing exchange; no configure permission needed when it exists
      await ensureBillingExchange(connection, channel, names.exchange, onError);
      const publish = confirmedPublish(channel, timeoutMs);
      channel.on("close", () => {
        if (current === publish) current = undefined;
      });
      current = publish;
    },
  });
  publisher.on("error", (error: Error) => onError(error));
  try {
    await withTimeout(
      publisher.waitForConnect(),
      timeoutMs,
      () => `billing client: no channel within ${timeoutMs} ms`,
    );
  } catch (error) {
    await connection.close();
    throw error;
  }

  /** The channel to publish on: the current one, or the next within timeoutMs (a reconnect takes ~1 s). */
  async function channelToPublish(): Promise<PublishCopy> {
    const deadline = Date.now() + timeoutMs;
    while (current === undefined) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`not connected to RabbitMQ within ${timeoutMs} ms`);
      await withTimeout(
        publisher.waitForConnect(),
        left,
        () => `not connected to RabbitMQ within ${timeoutMs} ms`,
      );
      if (current === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return current;
  }

  const subscriptions = new Set<ResultSubscription>();
  let closing: Promise<void> | undefined;

  return {
    async send(command) {
      if (closing !== undefined) throw new Error("billing client: closed");
      const validation = validateCommand(command);
      if (!validation.ok) throw new InvalidCommandError(validation.errors);
      const message = commandMessage(validation.command, service);
      try {
        const publish = await channelToPublish();
        await publish({ exchange: names.exchange, ...message });
      } catch (error) {
        if (error instanceof UnroutableError) {
          throw new Error(
            `billing client: no queue takes ${message.routingKey} on exchange "${names.exchange}" ` +
              "(is billing deployed on this vhost?); nothing was queued",
          );
        }
        throw new Error(
          `billing client: command ${JSON.stringify(command.id)} was not confirmed by RabbitMQ ` +
            `(${error instanceof Error ? error.message : String(error)}); send it again with the same id`,
          { cause: error },
        );
      }
    },

    async onResult(handler, resultOptions) {
      if (closing !== undefined) throw new Error("billing client: closed");
      const subscription = await subscribeToResults(
        { connection, timeoutMs, onError },
        handler,
        resultOptions,
      );
      subscriptions.add(subscription);
      return {
        queue: subscription.queue,
        stop: async () => {
          subscriptions.delete(subscription);
          await subscription.stop();
        },
      };
    },

    close() {
      closing ??= closeAll([
        ...[...subscriptions].map((s) => () => s.stop()),
        () => publisher.close(),
        () => connection.close(),
      ]);
      return closing;
    },
  };
}

// Every step runs even when one fails; the first failure is reported once all have run.
async function closeAll(steps: readonly (() => Promise<unknown>)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}
