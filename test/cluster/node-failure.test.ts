import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { signatureHeader } from "../../ops/stripe-emulator/webhook-signature.ts";
import { testSecrets } from "../helpers/config.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { freePort } from "../helpers/free-port.ts";
import { type Spawned, spawnScript } from "../helpers/spawn.ts";
import { waitFor } from "../helpers/wait.ts";
import { type DepositEvent, depositEvent, expectedBalances } from "../worker/deposit-events.ts";
import {
  closeConnection,
  clusterConnections,
  clusterQueues,
  clusterUrl,
  createClusterVhost,
  deleteClusterVhost,
  killNode,
  nodeNumber,
  nodePort,
} from "./local-cluster.ts";

// The fleet on a 3-node RabbitMQ cluster (ops/cluster/), every process given all three nodes in
// AMQP_URL. A steady stream of signed webhooks goes through the real ingester while the node that
// leads billing_queue is killed with kill -9. Every webhook is either accepted (2xx) and applied
// exactly once, or refused with 503 and sent again by the sender, as Stripe does; no process
// exits; within 30 s the fleet accepts and applies at the full rate again. How long the senders saw
// refusals is printed (the `cluster-failover` line).

const vhost = `bft_cluster_${Date.now()}`;
const ratePerSecond = 40;
let database: TestDatabase;
let webPort: number;
const processes: Record<string, Spawned> = {};
const exits: string[] = [];

beforeAll(async () => {
  await createClusterVhost(vhost);
  const amqpUrl = await clusterUrl(vhost);
  database = await createTestDatabase();
  webPort = await freePort();
  const env = {
    DATABASE_URL: database.url,
    AMQP_URL: amqpUrl,
    STRIPE_SECRET_KEY: testSecrets.stripeKey,
    STRIPE_WEBHOOK_SECRET: testSecrets.webhookSecret,
    METRICS_PORT: "0",
    LOG_LEVEL: "info",
    PUBLISH_TIMEOUT_MS: "3000",
  };
  // release with the node list: it declares the topology on the first node that answers
  const release = spawnScript("workers/release.ts", env);
  expect(await release.exited, release.output()).toBe(0);
  processes.web = spawnScript("workers/web.ts", { ...env, PORT: String(webPort) });
  processes.worker1 = spawnScript("workers/worker.ts", env);
  processes.worker2 = spawnScript("workers/worker.ts", env);
  processes.relay = spawnScript("workers/relay.ts", env);
  for (const [name, child] of Object.entries(processes)) {
    void child.exited.then((code) => exits.push(`${name} exited ${code}: ${child.output().slice(-3000)}`));
  }
  await processes.web?.waitForOutput("ingester listening", 60_000);
  await processes.worker1?.waitForOutput("consuming billing_queue", 60_000);
  await processes.worker2?.waitForOutput("consuming billing_queue", 60_000);
  await processes.relay?.waitForOutput("connected to RabbitMQ", 60_000);
}, 240_000);

afterAll(async () => {
  for (const child of Object.values(processes)) child.child.kill("SIGTERM");
  await Promise.all(Object.values(processes).map((child) => child.exited));
  await database?.drop();
  await deleteClusterVhost(vhost).catch(() => undefined);
});

interface Sender {
  /** Ids accepted (2xx) with the time of their acceptance. */
  readonly accepted: Map<string, number>;
  readonly events: DepositEvent[];
  /** Times a send was refused (503, or no answer at all). */
  readonly refusals: number[];
  /** Statuses other than 200 and 503: none are allowed. */
  readonly unexpected: string[];
  /** Stops sending new webhooks and waits until every one sent so far was accepted. */
  stop(): Promise<void>;
}

/** Stripe as a sender: a steady rate of signed webhooks, each resent after a refusal until accepted. */
function startSender(port: number, perSecond: number): Sender {
  const accepted = new Map<string, number>();
  const events: DepositEvent[] = [];
  const refusals: number[] = [];
  const unexpected: string[] = [];
  const pending = new Set<Promise<void>>();
  let stopped = false;

  async function deliver(event: DepositEvent): Promise<void> {
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${port}/webhooks/stripe`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "stripe-signature": signatureHeader(
            testSecrets.webhookSecret,
            event.body,
            Math.floor(Date.now() / 1000),
          ),
        },
        body: event.body,
        signal: AbortSignal.timeout(10_000),
      }).catch(() => undefined);
      if (res?.status === 200) {
        accepted.set(event.id, Date.now());
        return;
      }
      if (res === undefined || res.status === 503) refusals.push(Date.now());
      else unexpected.push(`${event.id}: ${res.status} ${await res.text()}`);
      await sleep(250);
    }
  }

  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const event = depositEvent("cluster", i, 50);
      events.push(event);
      const sent = deliver(event).finally(() => pending.delete(sent));
      pending.add(sent);
      await sleep(1000 / perSecond);
    }
  })();

  return {
    accepted,
    events,
    refusals,
    unexpected,
    async stop() {
      stopped = true;
      await loop;
      await Promise.all([...pending]);
    },
  };
}

async function appliedCount(): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM billing.processed_messages WHERE message_id LIKE 'stripe:evt_cluster_%'`.execute(
    database.db,
  );
  return rows[0]?.n ?? 0;
}

function expectAllRunning(): void {
  expect(exits).toEqual([]);
  for (const [name, child] of Object.entries(processes)) {
    expect(child.output(), `${name} logged a fatal error`).not.toContain('"level":60');
  }
}

it("survives kill -9 of the node leading billing_queue: nothing lost, nothing twice, full speed within 30 s", async () => {
  // Quorum queues with a member on each node, their leaders spread by the vhost's policy.
  const queues = (await clusterQueues(vhost)).filter((q) => q.name.startsWith("billing_queue"));
  expect(queues.length).toBeGreaterThan(1);
  for (const queue of queues) {
    expect(queue.type, queue.name).toBe("quorum");
    expect(new Set(queue.members).size, queue.name).toBe(3);
  }
  expect(new Set(queues.map((q) => q.leader)).size).toBeGreaterThan(1);
  const leader = queues.find((q) => q.name === "billing_queue")?.leader;
  if (leader === undefined) throw new Error("billing_queue has no leader");

  const sender = startSender(webPort, ratePerSecond);
  await waitFor(async () => (await appliedCount()) >= ratePerSecond * 3, "the stream flowing", 30_000);

  // The worst case for senders: the ingester itself is on the node that dies. Its connection is
  // moved there first (closed until it reconnects to that node, as it fails over in turn).
  await waitFor(
    async () => {
      const web = (await clusterConnections(vhost)).find((c) => c.connectionName === "billing-web");
      if (web === undefined) return false;
      if (web.port === nodePort(nodeNumber(leader))) return true;
      await closeConnection(web.name);
      await sleep(1500);
      return false;
    },
    "the ingester connected to the node that leads billing_queue",
    60_000,
    100,
  );
  await sleep(2000);

  const killedAt = Date.now();
  await killNode(nodeNumber(leader));

  // Watch for 30 s: when did the ingester accept again, and when did applying catch up with
  // accepting (less than a second of the stream not yet applied)?
  let caughtUpAt: number | undefined;
  while (Date.now() - killedAt < 30_000) {
    await sleep(250);
    const lastRefusal = Math.max(killedAt, ...sender.refusals);
    const lag = sender.accepted.size - (await appliedCount());
    if (Date.now() - lastRefusal > 1000 && lag <= ratePerSecond) {
      caughtUpAt ??= Date.now();
      if (Date.now() - caughtUpAt > 3000) break; // and it stays caught up
    } else caughtUpAt = undefined;
  }
  await sender.stop();

  const refusedAfterKill = sender.refusals.filter((t) => t >= killedAt);
  const report = {
    killedNode: leader,
    webhooksSent: sender.events.length,
    refusals: refusedAfterKill.length,
    refusedForMs:
      refusedAfterKill.length === 0 ? 0 : Math.max(...refusedAfterKill) - Math.min(...refusedAfterKill),
    firstRefusalAfterKillMs: refusedAfterKill.length === 0 ? null : Math.min(...refusedAfterKill) - killedAt,
    lastRefusalAfterKillMs: refusedAfterKill.length === 0 ? null : Math.max(...refusedAfterKill) - killedAt,
    fullSpeedAfterMs: caughtUpAt === undefined ? null : caughtUpAt - killedAt,
  };
  console.log(`cluster-failover ${JSON.stringify(report)}`);

  expect(sender.unexpected).toEqual([]);
  expect(caughtUpAt, "back to full speed within 30 s").toBeDefined();
  expect(report.fullSpeedAfterMs ?? Infinity).toBeLessThanOrEqual(30_000);

  // Every webhook accepted in the end, each applied exactly once.
  expect(sender.accepted.size).toBe(sender.events.length);
  await waitFor(async () => (await appliedCount()) === sender.events.length, "every webhook applied", 30_000);
  const entries = await database.db
    .selectFrom("ledger_entries")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("account_id", "like", "acct_cluster_%")
    .executeTakeFirstOrThrow();
  expect(Number(entries.n)).toBe(sender.events.length);
  const balances = await database.db
    .selectFrom("accounts")
    .select(["account_id", "balance"])
    .where("account_id", "like", "acct_cluster_%")
    .execute();
  expect(new Map(balances.map((b) => [b.account_id, b.balance]))).toEqual(expectedBalances(sender.events));

  // billing_queue has a new leader on a node still alive, and no process exited.
  const after = (await clusterQueues(vhost)).find((q) => q.name === "billing_queue");
  expect(after?.leader).not.toBe(leader);
  expectAllRunning();
});
