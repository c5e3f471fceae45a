import type { AmqpConnectionManager } from "amqp-connection-manager";
import type { Channel } from "amqplib";
import { ensureTopology } from "../amqp/ensure-topology.ts";

/**
 * Resolves once topic exchange `name` exists: checked passively (no permission needed, so a
 * command client's broker user needs no `configure` on billing's exchanges), declared only when
 * missing and this user may. Rejects if `channel` closes while it waits for billing's `release`.
 */
export async function ensureBillingExchange(
  connection: AmqpConnectionManager,
  channel: Channel,
  name: string,
  onError: (error: Error) => void,
): Promise<void> {
  const model = connection.connection;
  if (model === undefined) throw new Error("billing client: not connected to RabbitMQ");
  await ensureTopology(
    model,
    {
      what: `exchange ${name}`,
      check: async (ch) => void (await ch.checkExchange(name)),
      declare: async (ch) => void (await ch.assertExchange(name, "topic", { durable: true })),
    },
    {
      until: channel,
      onWait: (reason, round) => {
        if (round === 1) onError(new Error(`billing client: ${reason}`));
      },
    },
  );
}
