import amqplib, { type GetMessage } from "amqplib";

/** Takes (and acks) every message now ready in `queue` of the vhost at `url`. */
export async function drainQueue(url: string, queue: string): Promise<GetMessage[]> {
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createChannel();
    const messages: GetMessage[] = [];
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (message === false) break;
      messages.push(message);
    }
    await channel.close();
    return messages;
  } finally {
    await connection.close();
  }
}
