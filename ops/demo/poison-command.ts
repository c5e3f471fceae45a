import amqplib from "amqplib";
import { names } from "../../lib/amqp/topology.ts";

/**
 * Publishes a command no validation accepts (a negative amount), as a careless service might over
 * AMQP: the worker must park it in the DLQ (permanent) and the archiver in billing.dead_letters.
 */
export async function publishMalformedCommand(amqpUrl: string, id: string): Promise<void> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    const body = { id, type: "deposit.create", accountId: "acct_0001", amount: -500, currency: "usd" };
    channel.publish(names.exchange, "command.deposit.create", Buffer.from(JSON.stringify(body)), {
      messageId: id,
      type: "deposit.create",
      contentType: "application/json",
      persistent: true,
      headers: { "x-source": "demo-careless-service" },
    });
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close();
  }
}
