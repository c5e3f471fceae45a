import amqplib, { type ChannelModel } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBroker } from "../../lib/amqp/connection.ts";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { ensureTopology } from "../../lib/amqp/ensure-topology.ts";
import { billingTopology, names, retryQueueName } from "../../lib/amqp/topology.ts";
import { connectBillingClient } from "../../lib/client/index.ts";
import { startDlqArchiver } from "../../lib/worker/dlq-archiver.ts";
import { type BrokerUser, createBrokerUsers } from "../helpers/broker-users.ts";
import { testLogger } from "../helpers/config.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";

// Runtime processes need no `configure` permission: they check the topology passively and wait
// for release when it is missing; a user that may configure (development, tests) repairs it.

const services = useTestServices();
const ladder = [50];
let users: Record<"worker", BrokerUser> & { deleteAll(): Promise<void> };
// a second vhost, empty until the test that needs it declares the topology
let late: TestVhost;
let lateUsers: Record<"worker" | "shop", BrokerUser> & { deleteAll(): Promise<void> };
const connections: ChannelModel[] = [];

beforeAll(async () => {
  late = testVhost();
  await late.create();
  [users, lateUsers] = await Promise.all([
    createBrokerUsers(services.vhost.name, { worker: { roles: ["worker"] } }),
    createBrokerUsers(late.name, { worker: { roles: ["worker"] }, shop: { roles: ["client", "listener"] } }),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
  await Promise.allSettled([users?.deleteAll(), lateUsers?.deleteAll(), late?.delete()]);
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

  // The fleet's channels and the client wait the same way, and carry on once release has run.
  it("holds a worker's channel and a command client until release, then they work", async () => {
    const broker = connectBroker(lateUsers.worker.url, { log: testLogger("ensure"), name: "ensure-test" });
    const archiver = startDlqArchiver(
      { broker, db: services.database.db, log: testLogger("ensure") },
      { retryDelaysMs: ladder },
    );
    const problems: string[] = [];
    const connecting = connectBillingClient({
      url: lateUsers.shop.url,
      service: "ensure-test",
      timeoutMs: 20_000,
      onError: (error) => problems.push(error.message),
    });
    try {
      await waitFor(() => problems.length > 0, "the client told why it waits");
      expect(problems[0]).toMatch(/^billing client: exchange billing is incomplete .*403 \(ACCESS-REFUSED\)/);
      expect(archiver.isReady()).toBe(false);
      await declareTopologyOnce(late.url, ladder);
      const client = await connecting;
      await client.send({ id: "ensure-1", type: "customer.ensure", accountId: "acct-ensure" });
      await client.close();
      await waitFor(() => archiver.isReady(), "the archiver consuming the DLQ", 15_000);
    } finally {
      await archiver.stop();
      await broker.close();
    }
  });
});
