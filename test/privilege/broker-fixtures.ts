import amqplib, { type Options } from "amqplib";
import { chargeRefunded, paymentIntentSucceeded } from "../domain/stripe-fixtures.ts";

// Publishing as a given broker user with a raw amqplib connection, as another service (or an
// attacker holding its credentials) would, and the Stripe events the acceptance tests forge.

/** "confirmed", or the broker's reason for closing the channel (e.g. "403 (ACCESS-REFUSED) …"). */
export async function publishAs(
  url: string,
  exchange: string,
  routingKey: string,
  body: string,
  options: Options.Publish,
): Promise<string> {
  const connection = await amqplib.connect(url);
  connection.on("error", () => {});
  try {
    const channel = await connection.createConfirmChannel();
    const closed = new Promise<string>((resolve) => {
      channel.on("error", (error: Error) => resolve(error.message));
    });
    const confirmed = new Promise<string>((resolve, reject) => {
      channel.publish(exchange, routingKey, Buffer.from(body), { persistent: true, ...options }, (error) =>
        error ? reject(error) : resolve("confirmed"),
      );
    });
    // a refusal closes the channel; the pending confirm then fails too, and the reason wins
    return await Promise.race([closed, confirmed.catch(() => closed)]);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

type Json = Record<string, unknown>;

/** payment_intent.succeeded crediting `amount` to `accountId`, with ids of its own. */
export function paymentSucceeded(
  eventId: string,
  paymentIntentId: string,
  accountId: string,
  amount: number,
) {
  const event = paymentIntentSucceeded() as Json & { data: { object: Json } };
  event.id = eventId;
  Object.assign(event.data.object, {
    id: paymentIntentId,
    amount,
    amount_received: amount,
    metadata: { account_id: accountId, purpose: "deposit" },
  });
  return event;
}

/** charge.refunded for `paymentIntentId`, cumulative `refunded`. */
export function chargeRefundedOf(eventId: string, paymentIntentId: string, amount: number, refunded: number) {
  const event = chargeRefunded() as Json & { data: { object: Json } };
  event.id = eventId;
  Object.assign(event.data.object, {
    id: `ch_${paymentIntentId}`,
    payment_intent: paymentIntentId,
    amount,
    amount_captured: amount,
    amount_refunded: refunded,
  });
  return event;
}

/** The Contract's webhook message properties, as the ingester (user `userId`) sets them. */
export function webhookOptions(event: Json, userId: string | undefined): Options.Publish {
  return {
    messageId: String(event.id),
    type: String(event.type),
    contentType: "application/json",
    ...(userId === undefined ? {} : { userId }),
    headers: { "x-source": "stripe" },
  };
}
