import type { ChannelModel, ConfirmChannel, Options } from "amqplib";
import { confirmedPublish, type PublishCopy, UnroutableError } from "../amqp/confirmed-publish.ts";
import { connectFirstNode } from "../amqp/connect-first-node.ts";

// The CLI's broker connection: one connection, one confirm channel, no reconnect loop. A verb
// that loses the broker stops with one line and an exit status instead of waiting for it.

export interface BrokerSession {
  /**
   * Publishes one message (mandatory) and resolves only once the broker confirmed it; rejects when
   * it is nacked, unroutable, unconfirmed within the timeout, or the channel closed.
   */
  publishConfirmed(
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: Options.Publish,
  ): Promise<void>;
  close(): Promise<void>;
}

/** Connects to the first node of `url` that answers (5 s connect timeout) and opens a confirm channel. */
export async function openBrokerSession(
  url: string,
  options: { confirmTimeoutMs: number },
): Promise<BrokerSession> {
  const connection: ChannelModel = await connectFirstNode(url, { timeoutMs: 5000 });
  let failure: Error | undefined;
  // Without listeners an 'error' event would crash the process; the next publish reports it.
  connection.on("error", (error: Error) => {
    failure ??= error;
  });
  connection.on("close", () => {
    failure ??= new Error("the broker closed the connection");
  });
  let channel: ConfirmChannel;
  try {
    channel = await connection.createConfirmChannel();
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
  channel.on("error", (error: Error) => {
    failure ??= error;
  });
  const publish: PublishCopy = confirmedPublish(channel, options.confirmTimeoutMs);

  return {
    async publishConfirmed(exchange, routingKey, body, publishOptions) {
      if (failure !== undefined) throw new Error(`broker connection lost: ${failure.message}`);
      try {
        await publish({ exchange, routingKey, content: body, options: publishOptions });
      } catch (error) {
        if (error instanceof UnroutableError) {
          throw new Error(`unroutable: no queue is bound to ${exchange} for "${routingKey}"`);
        }
        throw new Error(`RabbitMQ did not take the message: ${describe(error)}`);
      }
    },
    async close() {
      await channel.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
