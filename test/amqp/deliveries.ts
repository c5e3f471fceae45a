import type { Message, MessageProperties, MessagePropertyHeaders } from "amqplib";

/** Properties as a test writes them; headers may hold what the broker sends (x-death…) loosely typed. */
export type TestProperties = Omit<Partial<MessageProperties>, "headers"> & {
  headers?: Record<string, unknown>;
};

/** A delivery as amqplib hands it over (every property present, most undefined). */
export function delivery(
  body: string | Buffer,
  { headers, ...properties }: TestProperties = {},
  fields: Partial<Message["fields"]> = {},
): Message {
  return {
    content: typeof body === "string" ? Buffer.from(body) : body,
    fields: {
      deliveryTag: 1,
      redelivered: false,
      exchange: "billing",
      routingKey: "stripe.invoice.paid",
      ...fields,
    },
    properties: {
      contentType: undefined,
      contentEncoding: undefined,
      deliveryMode: undefined,
      priority: undefined,
      correlationId: undefined,
      replyTo: undefined,
      expiration: undefined,
      messageId: undefined,
      timestamp: undefined,
      type: undefined,
      userId: undefined,
      appId: undefined,
      clusterId: undefined,
      ...properties,
      headers: (headers ?? {}) as MessagePropertyHeaders,
    },
  };
}
