import type { ConfirmChannel, Message } from "amqplib";
import { errorMessage, TransientError } from "../domain/errors.ts";
import type { OutgoingCopy } from "./failure-copies.ts";

/** Publishes one copy; resolves only once the broker holds it in a queue. */
export type PublishCopy = (copy: OutgoingCopy) => Promise<void>;

/**
 * Publishes on one raw confirm channel, mandatory: rejects (broker_unavailable) when the broker
 * nacks, returns the message as unroutable, the channel closes, or no confirm comes in time. A
 * returned message is acked by the broker too, so without mandatory a missing queue would lose it.
 */
export function confirmedPublish(channel: ConfirmChannel, timeoutMs: number): PublishCopy {
  // basic.return arrives before the confirm of the same publish.
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

  return (copy) =>
    new Promise<void>((resolve, reject) => {
      const key = returnKey(copy.exchange, copy.routingKey, copy.options.messageId);
      const target = `${copy.exchange === "" ? "(default)" : copy.exchange}/${copy.routingKey}`;
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
          copy.exchange,
          copy.routingKey,
          copy.content,
          { ...copy.options, mandatory: true },
          (err) => {
            if (takeReturned(key)) {
              settle(new TransientError("broker_unavailable", `no queue is bound for ${target}`));
            } else if (err) {
              settle(
                new TransientError("broker_unavailable", `RabbitMQ refused ${target}: ${errorMessage(err)}`),
              );
            } else {
              settle();
            }
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
