import { setTimeout as sleep } from "node:timers/promises";
import amqplib from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { names } from "../../lib/amqp/topology.ts";
import { type BillingClient, type CommandResult, connectBillingClient } from "../../lib/client/index.ts";
import { signatureHeader } from "../../ops/stripe-emulator/webhook-signature.ts";
import { release } from "../../workers/release.ts";
import { testConfig, testLogger, testSecrets } from "../helpers/config.ts";
import { freePort } from "../helpers/free-port.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { amqpBase } from "../helpers/services.ts";
import { type Spawned, spawnScript } from "../helpers/spawn.ts";
import { waitFor } from "../helpers/wait.ts";
import { type EventListener, listenToEvents } from "../relay/outbox-fixtures.ts";
import { startTcpProxy, type TcpProxy, throughProxy } from "../relay/tcp-proxy.ts";
import { rawClient } from "../worker/consumer-fixtures.ts";
import { type DepositEvent, depositEvent, expectedBalances } from "../worker/deposit-events.ts";

// No process dies of a broker fault. The real web, worker (with its DLQ archiver and queue sampler)
// and relay processes run against a vhost of their own, reaching RabbitMQ through a proxy the test
// can reset, and the typed client runs in this process. Each fault is made on the real broker:
// the consumer cancelled (its queue deleted), a connection reset while the consumer resubscribes,
// connections reset under in-flight acks, and the vhost deleted mid-stream and created again empty.
// After each, every process is still running and the fleet ingests, applies and relays again.

const services = useTestServices();
let proxy: TcpProxy;
let webPort: number;
let metricsPort: number;
const processes: Record<string, Spawned> = {};
const exits: string[] = [];
const uncaught: unknown[] = [];
const recordUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  process.prependListener("uncaughtException", recordUncaught);
  const broker = new URL(amqpBase);
  proxy = await startTcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
  webPort = await freePort();
  metricsPort = await freePort();
  const env = {
    DATABASE_URL: services.database.url,
    AMQP_URL: throughProxy(services.vhost.url, proxy),
    STRIPE_SECRET_KEY: testSecrets.stripeKey,
    STRIPE_WEBHOOK_SECRET: testSecrets.webhookSecret,
    RETRY_DELAYS_MS: "300,600",
    LOG_LEVEL: "info",
    METRICS_PORT: "0",
  };
  await release(
    testConfig("release", { databaseUrl: env.DATABASE_URL, amqpUrl: services.vhost.url }),
    testLogger(),
  );
  processes.worker = spawnScript("workers/worker.ts", { ...env, METRICS_PORT: String(metricsPort) });
  processes.web = spawnScript("workers/web.ts", { ...env, PORT: String(webPort) });
  processes.relay = spawnScript("workers/relay.ts", env);
  for (const [name, child] of Object.entries(processes)) {
    void child.exited.then((code) => exits.push(`${name} exited ${code}: ${child.output().slice(-2000)}`));
  }
  await processes.worker?.waitForOutput("consuming billing_queue", 30_000);
  await processes.relay?.waitForOutput("connected to RabbitMQ", 30_000);
  await processes.web?.waitForOutput("ingester listening", 30_000);
}, 60_000);
afterAll(async () => {
  process.removeListener("uncaughtException", recordUncaught);
  for (const child of Object.values(processes)) child.child.kill("SIGTERM");
  await Promise.all(Object.values(processes).map((child) => child.exited));
  await proxy?.close();
});

/** Every process still running, none logged a fatal line, nothing escaped in this process. */
function expectAllRunning(): void {
  expect(exits).toEqual([]);
  for (const [name, child] of Object.entries(processes)) {
    expect(child.output(), `${name} logged a fatal error`).not.toContain('"level":60');
  }
  expect(uncaught).toEqual([]);
}

/** POSTs a signed webhook as Stripe does, resending after a refusal, until it is accepted. */
async function sendWebhook(event: DepositEvent, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${webPort}/webhooks/stripe`, {
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
    }).catch(() => undefined);
    if (res?.status === 200) return;
    if (res !== undefined && res.status !== 503) throw new Error(`webhook ${event.id}: ${res.status}`);
    if (Date.now() > deadline) throw new Error(`webhook ${event.id} refused until the deadline`);
    await sleep(200);
  }
}

async function appliedCount(events: readonly DepositEvent[]): Promise<number> {
  const rows = await services.database.db
    .selectFrom("processed_messages")
    .select("message_id")
    .where(
      "message_id",
      "in",
      events.map((e) => `stripe:${e.id}`),
    )
    .execute();
  return rows.length;
}

async function expectApplied(events: readonly DepositEvent[], what: string): Promise<void> {
  await waitFor(async () => (await appliedCount(events)) === events.length, what, 30_000);
}

const outputCount = (name: string, text: string) =>
  processes[name]
    ?.output()
    .split("\n")
    .filter((line) => line.includes(text)).length ?? 0;

async function deleteQueue(queue: string): Promise<void> {
  const connection = await amqplib.connect(services.vhost.url);
  try {
    await (await connection.createChannel()).deleteQueue(queue);
  } finally {
    await connection.close();
  }
}

describe("the worker's consumer", () => {
  // RabbitMQ cancels a consumer whose queue is deleted: the worker declares it again, resubscribes
  // and applies what arrives next.
  it("resubscribes after RabbitMQ cancelled it", async () => {
    await sendWebhook(depositEvent("cancel", 0));
    await expectApplied([depositEvent("cancel", 0)], "first deposit applied");
    const subscribed = outputCount("worker", "consuming billing_queue");
    await deleteQueue(names.queue);
    await waitFor(
      () => outputCount("worker", "consuming billing_queue") > subscribed,
      "resubscribed",
      15_000,
    );
    const after = [1, 2, 3].map((i) => depositEvent("cancel", i));
    for (const event of after) await sendWebhook(event);
    await expectApplied(after, "deposits after the cancellation applied");
    expectAllRunning();
  });

  // The resubscribe is under way (1 s after the cancel) when every connection is reset.
  it("survives a connection reset during the resubscribe", async () => {
    const cancelled = outputCount("worker", "RabbitMQ cancelled the consumer");
    const connected = outputCount("worker", "connected to RabbitMQ");
    await deleteQueue(names.queue);
    await waitFor(() => outputCount("worker", "RabbitMQ cancelled the consumer") > cancelled, "cancelled");
    await sleep(500);
    await proxy.cut();
    await sleep(1500);
    await proxy.restore();
    await waitFor(() => outputCount("worker", "connected to RabbitMQ") > connected, "reconnected", 15_000);
    const after = [0, 1, 2].map((i) => depositEvent("reset", i));
    for (const event of after) await sendWebhook(event);
    await expectApplied(after, "deposits after the reset applied");
    expectAllRunning();
  });

  // Connections reset while a stream is being applied: commits and acks are in flight on channels
  // that die under them. Every deposit is still applied exactly once (the inbox absorbs redeliveries).
  it("applies a stream exactly once across connections reset under in-flight acks", async () => {
    const events = Array.from({ length: 300 }, (_, i) => depositEvent("inflight", i, 100));
    const client = await rawClient(services.vhost.url);
    try {
      for (let i = 0; i < events.length; i += 50) {
        await Promise.all(
          events.slice(i, i + 50).map((event) =>
            client.publish("stripe.payment_intent.succeeded", event.body, {
              messageId: event.id,
              type: "payment_intent.succeeded",
              headers: { "x-source": "stripe" },
            }),
          ),
        );
      }
    } finally {
      await client.close();
    }
    await waitFor(async () => (await appliedCount(events)) >= 30, "the stream being applied");
    await proxy.cut();
    await sleep(1000);
    await proxy.restore();
    await expectApplied(events, "the whole stream applied");
    const balances = await services.database.db
      .selectFrom("accounts")
      .select(["account_id", "balance"])
      .where("account_id", "like", "acct_inflight_%")
      .execute();
    expect(new Map(balances.map((b) => [b.account_id, b.balance]))).toEqual(expectedBalances(events));
    expectAllRunning();
  });
});

describe("the vhost deleted mid-stream and created again empty", () => {
  let client: BillingClient;
  const results: CommandResult[] = [];
  const clientErrors: Error[] = [];

  beforeAll(async () => {
    client = await connectBillingClient({
      url: throughProxy(services.vhost.url, proxy),
      service: "faults-test",
      timeoutMs: 5000,
      onError: (error) => clientErrors.push(error),
    });
    await client.onResult((result) => void results.push(result), { queue: "faults-test.results" });
  });
  afterAll(async () => {
    await client?.close();
  });

  it("keeps every process running; webhooks, commands and events flow again once it is back", async () => {
    const before = Array.from({ length: 20 }, (_, i) => depositEvent("vhost-before", i));
    const sending = (async () => {
      for (const event of before) {
        await sendWebhook(event, 30_000);
        await sleep(50);
      }
    })();
    await sleep(300);
    await services.vhost.delete();
    await sleep(3000);
    await services.vhost.create();
    await sending; // every webhook was accepted in the end (503s were resent, as Stripe does)

    // sent afterwards: applied by the worker, its domain event relayed, the client's command answered
    const listener: EventListener = await listenToEvents(services.vhost.url);
    try {
      const after = depositEvent("vhost-after", 0);
      await sendWebhook(after);
      await expectApplied([after], "the webhook sent after the vhost came back applied");
      await waitFor(
        () => listener.messages.some((m) => m.properties.correlationId === after.id),
        "its domain event relayed to billing.events",
        20_000,
      );

      await waitFor(
        async () => {
          try {
            await client.send({
              id: "cmd-after-vhost",
              type: "balance.charge",
              accountId: "acct_nobody",
              amount: 100,
              currency: "usd",
              reason: "test",
            });
            return true;
          } catch {
            return false;
          }
        },
        "the client's command confirmed",
        20_000,
        500,
      );
      await waitFor(
        () => results.some((r) => r.commandId === "cmd-after-vhost"),
        "the command's result delivered to the client",
        20_000,
      );

      // the archiver and the sampler are back too: a malformed message is parked and archived,
      // and the sampler sees the consumer again
      const raw = await rawClient(services.vhost.url);
      try {
        await raw.publish("stripe.invoice.paid", '"not an event"', { messageId: "evt_after_vhost_bad" });
      } finally {
        await raw.close();
      }
      await waitFor(
        async () =>
          (await services.database.db
            .selectFrom("dead_letters")
            .select("id")
            .where("message_id", "=", "evt_after_vhost_bad")
            .executeTakeFirst()) !== undefined,
        "the malformed message archived",
        20_000,
      );
      await waitFor(
        async () => {
          const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
          return metrics.includes('billing_queue_consumers{queue="billing_queue"} 1');
        },
        "the queue sampler reporting the consumer",
        20_000,
      );
    } finally {
      await listener.close();
    }
    expectAllRunning();
  });
});
