import amqplib, { type ChannelModel, type ConfirmChannel, type Options } from "amqplib";

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

/** Connects to `url` (5 s connect timeout) and opens a confirm channel. */
export async function openBrokerSession(
  url: string,
  options: { confirmTimeoutMs: number },
): Promise<BrokerSession> {
  const connection: ChannelModel = await amqplib.connect(url, { timeout: 5000 });
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
  // Publishes are one at a time, so a basic.return belongs to the message in flight; it always
  // arrives before that message's confirm.
  let returned = false;
  channel.on("return", () => {
    returned = true;
  });

  return {
    publishConfirmed(exchange, routingKey, body, publishOptions) {
      if (failure !== undefined)
        return Promise.reject(new Error(`broker connection lost: ${failure.message}`));
      returned = false;
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no confirm from RabbitMQ within ${options.confirmTimeoutMs} ms`)),
          options.confirmTimeoutMs,
        );
        try {
          channel.publish(exchange, routingKey, body, { ...publishOptions, mandatory: true }, (error) => {
            clearTimeout(timer);
            if (error) reject(new Error(`RabbitMQ did not take the message: ${describe(error)}`));
            else if (returned)
              reject(new Error(`unroutable: no queue is bound to ${exchange} for "${routingKey}"`));
            else resolve();
          });
        } catch (error) {
          clearTimeout(timer);
          reject(new Error(`publish failed: ${describe(error)}`));
        }
      });
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
