import amqplib, { type ChannelModel } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { ensureTopology } from "../../lib/amqp/ensure-topology.ts";
import { billingTopology, names, retryQueueName } from "../../lib/amqp/topology.ts";
import { type BrokerUser, createBrokerUsers } from "../helpers/broker-users.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { waitFor } from "../helpers/wait.ts";

// Runtime processes need no `configure` permission: they check the topology passively and wait
// for release when it is missing; a user that may configure (development, tests) repairs it.

const services = useTestServices();
const ladder = [50];
let users: Record<"worker", BrokerUser> & { deleteAll(): Promise<void> };
const connections: ChannelModel[] = [];

beforeAll(async () => {
  users = await createBrokerUsers(services.vhost.name, { worker: { roles: ["worker"] } });
}, 120_000);
afterAll(async () => {
  await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
  await users?.deleteAll();
}, 120_000);

async function connect(url: string): Promise<ChannelModel> {
  const connection = await amqplib.connect(url);
  connection.on("error", () => {});
  connections.push(connection);
  return connection;
}

describe("ensureTopology", () => {
  it("stops waiting, with a reason, when the caller's channel closes", async () => {
    const connection = await connect(users.worker.url);
    const caller = await connection.createChannel();
    const reasons: string[] = [];
    const waiting = ensureTopology(connection, billingTopology(ladder), {
      retryMs: 50,
      until: caller,
      onWait: (reason) => reasons.push(reason),
    });
    await waitFor(() => reasons.length > 0, "a first wait");
    expect(reasons[0]).toMatch(
      /^the billing topology is incomplete \(.*404 \(NOT-FOUND\).*\) and this broker user cannot declare it \(.*403 \(ACCESS-REFUSED\).*\): waiting for `release`/,
    );
    await caller.close();
    await expect(waiting).rejects.toThrow("channel closed while waiting for the billing topology");
  });

  it("waits, without configure permission, until release has declared the topology", async () => {
    const connection = await connect(users.worker.url);
    let rounds = 0;
    let done = false;
    const waiting = ensureTopology(connection, billingTopology(ladder), {
      retryMs: 50,
      onWait: (_, round) => {
        rounds = round;
      },
    }).then(() => {
      done = true;
    });
    await waitFor(() => rounds >= 2, "two rounds of waiting");
    expect(done).toBe(false);
    await declareTopologyOnce(services.vhost.url, ladder);
    await waiting;
    expect(done).toBe(true);
  });

  it("declares what is missing when the user may configure", async () => {
    const admin = await connect(services.vhost.url);
    const channel = await admin.createChannel();
    await channel.deleteQueue(retryQueueName(50));
    await ensureTopology(admin, billingTopology(ladder), { retryMs: 50 });
    expect((await channel.checkQueue(retryQueueName(50))).messageCount).toBe(0);
    // bound again: a retry copy through billing.retry reaches it, and after its TTL billing_queue
    channel.publish(names.retry, retryQueueName(50), Buffer.from("{}"));
    await waitFor(async () => (await channel.checkQueue(names.queue)).messageCount === 1, "routed back");
  });
});
