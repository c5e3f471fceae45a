import amqplib, { type ChannelModel, type ConfirmChannel } from "amqplib";
import { afterAll, beforeAll, expect, it } from "vitest";
import { confirmedPublish, UnroutableError } from "../../lib/amqp/confirmed-publish.ts";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { names } from "../../lib/amqp/topology.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { startTcpProxy, throughProxy } from "../relay/tcp-proxy.ts";

// The one "publish and wait for the confirm" of the fleet (ingester, relay, consumer copies, client,
// CLI): resolved only when the broker holds the message; a returned message is a failure of that
// publish only, never of another one in flight with the same message id.

let vhost: TestVhost;
let connection: ChannelModel;
let channel: ConfirmChannel;

beforeAll(async () => {
  vhost = testVhost();
  await vhost.create();
  await declareTopologyOnce(vhost.url, [100]);
  connection = await amqplib.connect(vhost.url);
  channel = await connection.createConfirmChannel();
});
afterAll(async () => {
  await connection?.close();
  await vhost?.delete();
});

const message = (routingKey: string, messageId: string) => ({
  exchange: names.exchange,
  routingKey,
  content: Buffer.from("{}"),
  options: { messageId, persistent: true },
});

it("tells a returned publish from a confirmed one sharing its message id", async () => {
  const publish = confirmedPublish(channel, 2000);
  const results = await Promise.allSettled([
    publish(message("stripe.invoice.paid", "same-id")),
    publish(message("nobody.listens", "same-id")),
    publish(message("command.customer.ensure", "same-id")),
    publish(message("nobody.listens.either", "same-id")),
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected"]);
  for (const result of results) {
    if (result.status === "rejected") {
      expect(result.reason).toBeInstanceOf(UnroutableError);
      expect(result.reason).toMatchObject({ kind: "transient", code: "broker_unavailable" });
    }
  }
  expect((await channel.checkQueue(names.queue)).messageCount).toBe(2);
});

it("confirms an unroutable publish when it is not mandatory (billing.events)", async () => {
  const publish = confirmedPublish(channel, 2000, { mandatory: false });
  await expect(publish({ ...message("nobody.listens", "event-1"), exchange: names.events })).resolves.toBe(
    undefined,
  );
});

it("rejects at once on a closed channel, and when no confirm comes in time", async () => {
  const spare = await connection.createConfirmChannel();
  const publish = confirmedPublish(spare, 2000);
  await spare.close();
  await expect(publish(message("stripe.x", "closed-1"))).rejects.toMatchObject({
    code: "broker_unavailable",
  });

  // confirms held back by a proxy between the client and the broker: the timeout answers
  const proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(vhost.url).port || 5672) });
  const held = await amqplib.connect(throughProxy(vhost.url, proxy));
  try {
    const slow = await held.createConfirmChannel();
    proxy.holdReplies();
    const hurried = confirmedPublish(slow, 200);
    await expect(hurried(message("stripe.x", "slow-1"))).rejects.toThrow(/no confirm within 200 ms/);
    proxy.releaseReplies();
  } finally {
    await held.close().catch(() => undefined);
    await proxy.close();
  }
});
