import type { ConfirmChannel, Message, Options } from "amqplib";
import { errorMessage, TransientError } from "../domain/errors.ts";

// The one way the fleet puts a message on the broker and knows it is there: publish on a raw
// confirm channel and wait for the broker's confirm. Used by the ingester and the relay (through
// publisher.ts), the consumer's retry and dead-letter copies, the typed client and the ops CLI.

/** A message to publish: where to, the body, and its properties. */
export interface OutgoingMessage {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
}

/** Publishes one message; resolves only once the broker confirmed it (held in a queue when mandatory). */
export type PublishCopy = (message: OutgoingMessage) => Promise<void>;

/** The broker confirmed a mandatory message but returned it first: no queue is bound for it. */
export class UnroutableError extends TransientError {
  constructor(target: string) {
    super("broker_unavailable", `no queue is bound for ${target}`);
  }
}

/**
 * A publisher on one raw confirm channel. Mandatory (the default): rejects with UnroutableError
 * when the broker returns the message, since a returned message is acked too and would otherwise
 * be lost unseen. Rejects (broker_unavailable) when the broker nacks it, the channel closes, or
 * no confirm comes within `timeoutMs`.
 */
export function confirmedPublish(
  channel: ConfirmChannel,
  timeoutMs: number,
  options: { mandatory?: boolean } = {},
): PublishCopy {
  const mandatory = options.mandatory ?? true;
  // basic.return comes before the confirm of the same publish. Returns are matched by exchange,
  // routing key and message id: publishes alike in all three route alike, so any of them may
  // take the return; two that share only a message id (a command id reused as an event id) may not.
  const returned = new Map<string, number>();
  channel.on("return", (message: Message) => {
    const key = returnKey(message.fields.exchange, message.fields.routingKey, message.properties.messageId);
    returned.set(key, (returned.get(key) ?? 0) + 1);
  });
  const takeReturned = (key: string): boolean => {
    const count = returned.get(key);
    if (count === undefined) return false;
    if (count <= 1) returned.delete(key);
    else returned.set(key, count - 1);
    return true;
  };

  return (message) =>
    new Promise<void>((resolve, reject) => {
      const key = returnKey(message.exchange, message.routingKey, message.options.messageId);
      const target = `${message.exchange === "" ? "(default)" : message.exchange}/${message.routingKey}`;
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
          settle(new TransientError("broker_unavailable", `no confirm within ${timeoutMs} ms for ${target}`)),
        timeoutMs,
      );
      try {
        channel.publish(
          message.exchange,
          message.routingKey,
          message.content,
          { ...message.options, mandatory },
          (err) => {
            if (mandatory && takeReturned(key)) settle(new UnroutableError(target));
            else if (err) {
              settle(
                new TransientError("broker_unavailable", `RabbitMQ refused ${target}: ${errorMessage(err)}`),
              );
            } else settle();
          },
        );
      } catch (error) {
        settle(
          new TransientError("broker_unavailable", `publish to ${target} failed: ${errorMessage(error)}`, {
            cause: error,
          }),
        );
      }
    });
}

function returnKey(exchange: string, routingKey: string, messageId: unknown): string {
  return `${exchange}\u0000${routingKey}\u0000${typeof messageId === "string" ? messageId : ""}`;
}
