import type { Channel } from "amqplib";
import type { Logger } from "../log.ts";
import type { Broker } from "./connection.ts";
import { ensureTopology } from "./ensure-topology.ts";
import { billingTopology, type TopologyUse } from "./topology.ts";

/**
 * What a fleet channel's setup runs first on every (re)connect: resolves once what it uses of the
 * billing topology (`use`, default all) exists, declaring the topology only if something is missing
 * and this user may; rejects if `channel` closes while it waits for `release`.
 */
export async function ensureBillingTopology(
  broker: Broker,
  channel: Channel,
  retryDelaysMs: readonly number[],
  log: Logger,
  use?: TopologyUse,
): Promise<void> {
  const connection = broker.connection;
  if (connection === undefined) throw new Error("not connected to RabbitMQ");
  await ensureTopology(connection, billingTopology(retryDelaysMs, use), {
    until: channel,
    // one line at first and then every minute, not every round
    onWait: (reason, round) => {
      if (round === 1 || round % 12 === 0) log.warn({ reason, round }, "RabbitMQ topology incomplete");
    },
  });
}
