import type { PublishOptions } from "./publisher.ts";

// The Contract's webhook message, one definition for every path that puts a Stripe event on
// exchange `billing` (the ingester, the reconciler): the worker applies a `stripe.*` message only
// when RabbitMQ vouches, through user_id, that a trusted publisher sent it.

export interface StripeEventPublish {
  readonly routingKey: string;
  readonly options: PublishOptions;
}

/** Routing key and properties for one Stripe event, published by broker user `userId` from `source`. */
export function stripeEventMessage(input: {
  readonly eventId: string;
  readonly eventType: string;
  /** The x-source header: "stripe" for a webhook, "reconcile" for an event fetched from the API. */
  readonly source: string;
  /** The publishing connection's broker user: RabbitMQ refuses any other. */
  readonly userId: string;
  readonly now?: Date;
}): StripeEventPublish {
  return {
    routingKey: `stripe.${input.eventType}`,
    options: {
      messageId: input.eventId,
      type: input.eventType,
      contentType: "application/json",
      persistent: true,
      timestamp: Math.floor((input.now ?? new Date()).getTime() / 1000),
      userId: input.userId,
      headers: { "x-source": input.source },
    },
  };
}
