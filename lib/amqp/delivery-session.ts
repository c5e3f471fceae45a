import type { ConfirmChannel, Message } from "amqplib";
import { errorMessage } from "../domain/errors.ts";
import type { Logger } from "../log.ts";

// One raw channel's deliveries: each is settled (acked or nacked) on the channel it came from, or
// not at all. Once that channel has closed the broker redelivers what was unsettled; a tag means
// nothing on a new channel, so nothing here ever settles after a close.

export interface DeliverySession {
  readonly channel: ConfirmChannel;
  /** False once the channel has closed. */
  readonly open: boolean;
  /** The consumer's tag while subscribed. */
  consumerTag: string | undefined;
  /** Records a delivery as taken and not yet settled. */
  take(delivery: Message): void;
  /** Acks one delivery; false when the channel is gone (the broker redelivers it). */
  ack(delivery: Message): boolean;
  /**
   * Acks deliveries committed together: one frame (multiple) when no other unsettled delivery lies
   * below the highest tag, since that one would be acked before its commit; else one ack each.
   */
  ackAll(deliveries: readonly Message[]): boolean;
  /** Gives one delivery back to the queue; false when the channel is gone. */
  requeue(delivery: Message): boolean;
}

/** A session over `channel`; it closes with the channel. */
export function openDeliverySession(channel: ConfirmChannel, log: Logger): DeliverySession {
  const unsettled = new Set<number>();
  let open = true;
  channel.on("close", () => {
    open = false;
    unsettled.clear();
  });

  const settle = (what: string, act: () => void, tags: readonly number[]): boolean => {
    if (!open) return false;
    try {
      act();
    } catch (error) {
      // the channel closed under us: the broker redelivers the message
      log.warn({ reason: errorMessage(error) }, `${what} failed`);
      return false;
    }
    for (const tag of tags) unsettled.delete(tag);
    return true;
  };

  return {
    channel,
    get open() {
      return open;
    },
    consumerTag: undefined,
    take(delivery) {
      unsettled.add(delivery.fields.deliveryTag);
    },
    ack(delivery) {
      return settle("ack", () => channel.ack(delivery), [delivery.fields.deliveryTag]);
    },
    ackAll(deliveries) {
      if (deliveries.length === 0) return true;
      const tags = deliveries.map((delivery) => delivery.fields.deliveryTag);
      const own = new Set(tags);
      const last = deliveries.reduce((a, b) => (b.fields.deliveryTag > a.fields.deliveryTag ? b : a));
      const upTo = last.fields.deliveryTag;
      let coversOnlyOwn = true;
      for (const tag of unsettled) {
        if (tag <= upTo && !own.has(tag)) {
          coversOnlyOwn = false;
          break;
        }
      }
      return settle(
        "ack",
        () => {
          if (coversOnlyOwn) channel.ack(last, true);
          else for (const delivery of deliveries) channel.ack(delivery);
        },
        tags,
      );
    },
    requeue(delivery) {
      return settle("nack", () => channel.nack(delivery, false, true), [delivery.fields.deliveryTag]);
    },
  };
}
