import amqplib from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Running } from "../../lib/lifecycle.ts";
import { startWeb } from "../../workers/web.ts";
import { testConfig, testLogger, testSecrets } from "../helpers/config.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";
import { expectNoLeaks, ingesterClient, signedWebhook, stripeEvent } from "./ingester-fixtures.ts";

// Never a 2xx unless the message is durably on the broker: with the broker gone, unroutable or
// saturated the ingester answers 503 + Retry-After, /readyz says so, and once the broker is back it
// reconnects and re-declares the topology by itself.

const token = "billing-test-token-0123456789";
const secret = testSecrets.webhookSecret;
let vhost: TestVhost;
let web: Running & { port: number };
const client = ingesterClient(() => web.port);

beforeAll(async () => {
  vhost = testVhost();
  await vhost.create();
  const config = testConfig("web", {
    amqpUrl: vhost.url,
    COMMAND_TOKENS: `shop:${token}:*`,
    PUBLISH_TIMEOUT_MS: "1000",
    INGEST_MAX_IN_FLIGHT: "1",
  });
  web = await startWeb(config, testLogger("web"), { host: "127.0.0.1" });
  await waitFor(async () => (await client.send("GET", "/readyz")).status === 200, "ingester ready");
});
afterAll(async () => {
  await web?.stop();
  await vhost?.delete();
});

const webhook = (event = stripeEvent()) =>
  client.send("POST", "/webhooks/stripe", signedWebhook(event, secret));
const command = (id: string) =>
  client.send("POST", "/v1/commands", {
    body: JSON.stringify({ id, type: "customer.ensure", accountId: "acct_1" }),
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  });

async function withChannel<T>(work: (channel: amqplib.Channel) => Promise<T>): Promise<T> {
  const connection = await amqplib.connect(vhost.url);
  try {
    return await work(await connection.createChannel());
  } finally {
    await connection.close();
  }
}

describe("the broker goes away and comes back", () => {
  it("never answers 2xx while the vhost is gone, and accepts again once it is back", async () => {
    expect((await webhook()).status).toBe(200);

    await vhost.delete();
    await waitFor(async () => (await client.send("GET", "/readyz")).status === 503, "/readyz says not ready");
    for (let i = 0; i < 5; i += 1) {
      const reply = await webhook();
      expect(reply.status).toBe(503);
      expect(reply.json()).toEqual({ error: "broker unavailable, retry later" });
      expect(Number(reply.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    }
    const refusedCommand = await command("cmd-during-outage");
    expect(refusedCommand.status).toBe(503);
    expect(refusedCommand.headers["retry-after"]).toBeDefined();
    // still alive: only readiness is down
    expect((await client.send("GET", "/healthz")).status).toBe(200);

    // a new, empty vhost: only the ingester's own re-declaration can make the event routable
    await vhost.create();
    await waitFor(
      async () => (await client.send("GET", "/readyz")).status === 200,
      "/readyz ready again",
      15_000,
    );
    const event = stripeEvent("charge.refunded");
    expect((await webhook(event)).status).toBe(200);
    expect((await command("cmd-after-outage")).status).toBe(202);
    const ids = await withChannel(async (channel) => {
      const found: unknown[] = [];
      for (let message = await channel.get("billing_queue", { noAck: true }); message !== false; ) {
        found.push(message.properties.messageId);
        message = await channel.get("billing_queue", { noAck: true });
      }
      return found;
    });
    expect(ids).toEqual([event.id, "cmd-after-outage"]);
  });
});

describe("the broker cannot route or keep up", () => {
  // A message no queue binds is still confirmed by RabbitMQ: published mandatory, it is a 503.
  it("answers 503 when no queue is bound for the event", async () => {
    await withChannel((channel) => channel.unbindQueue("billing_queue", "billing", "stripe.#"));
    try {
      const reply = await webhook();
      expect(reply.status).toBe(503);
      expect((await command(`cmd-routable-${Date.now()}`)).status).toBe(202);
    } finally {
      await withChannel((channel) => channel.bindQueue("billing_queue", "billing", "stripe.#"));
    }
    expect((await webhook()).status).toBe(200);
  });

  // INGEST_MAX_IN_FLIGHT is 1 here: concurrent webhooks beyond it get 503 + Retry-After, not a queue
  // in memory; whatever got 200 is on the broker.
  it("answers 503 beyond the in-flight publish cap", async () => {
    await withChannel((channel) => channel.purgeQueue("billing_queue"));
    const events = Array.from({ length: 60 }, () => stripeEvent());
    const replies = await Promise.all(events.map((event) => webhook(event)));
    const accepted = replies.filter((r) => r.status === 200).length;
    const capped = replies.filter((r) => r.status === 503);
    expect(accepted).toBeGreaterThan(0);
    expect(capped.length).toBeGreaterThan(0);
    expect(accepted + capped.length).toBe(events.length);
    for (const reply of capped) {
      expect(reply.json()).toEqual({ error: "too many requests in flight, retry later" });
      expect(reply.headers["retry-after"]).toBe("1");
    }
    await waitFor(
      async () => (await withChannel((c) => c.checkQueue("billing_queue"))).messageCount === accepted,
      "every accepted event on billing_queue",
    );
    const text = (await client.send("GET", "/metrics")).text;
    expect(text).toMatch(
      /billing_http_refusals_total\{route="\/webhooks\/stripe",reason="too_many_in_flight"\} [1-9]/,
    );
  });

  it("never leaks a stack trace or a secret", () => {
    expectNoLeaks(client.replies, [secret, token]);
  });
});
