import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Running } from "../../lib/lifecycle.ts";
import { startWeb } from "../../workers/web.ts";
import { testConfig, testLogger } from "../helpers/config.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Client, expectNoLeaks, ingesterClient, tapBilling } from "./ingester-fixtures.ts";

// POST /v1/commands over a real socket against a real RabbitMQ vhost: every row of the Contract's
// table, the message as the Contract describes it, and no leak in any answer.

const ordersToken = "orders-token-0123456789abcdef";
const opsToken = "ops-token-fedcba9876543210";
const opsDigest = createHash("sha256").update(opsToken).digest("hex");
const tokens = `orders:${ordersToken}:deposit.create+balance.charge,ops:sha256=${opsDigest}:*`;

let vhost: TestVhost;
let web: Running & { port: number };
let tap: Awaited<ReturnType<typeof tapBilling>>;
const client = ingesterClient(() => web.port);
const others: Array<Running & { port: number }> = [];
const otherClients: Client[] = [];
let sequence = 0;

beforeAll(async () => {
  vhost = testVhost();
  await vhost.create();
  web = await startWeb(testConfig("web", { amqpUrl: vhost.url, COMMAND_TOKENS: tokens }), testLogger("web"), {
    host: "127.0.0.1",
  });
  await waitFor(async () => (await client.send("GET", "/readyz")).status === 200, "ingester ready");
  tap = await tapBilling(vhost.url);
});
afterAll(async () => {
  await tap?.close();
  await Promise.all([web, ...others].map((w) => w?.stop()));
  await vhost?.delete();
});

function deposit(extra: Record<string, unknown> = {}): Record<string, unknown> {
  sequence += 1;
  return {
    id: `cmd-${Date.now()}-${sequence}`,
    type: "deposit.create",
    accountId: "acct_1",
    amount: 2500,
    currency: "usd",
    ...extra,
  };
}

const send = (
  command: unknown,
  options: {
    token?: string | undefined;
    headers?: Record<string, string>;
    raw?: string | Buffer;
    via?: Client;
  } = {},
) =>
  (options.via ?? client).send("POST", "/v1/commands", {
    body: options.raw ?? JSON.stringify(command),
    headers: {
      "content-type": "application/json",
      ...("token" in options && options.token === undefined
        ? {}
        : { authorization: `Bearer ${options.token ?? ordersToken}` }),
      ...options.headers,
    },
  });

/** Another ingester on the same vhost with its own configuration. */
async function startOther(env: Record<string, string>): Promise<Client> {
  const other = await startWeb(testConfig("web", { amqpUrl: vhost.url, ...env }), testLogger("web"), {
    host: "127.0.0.1",
  });
  others.push(other);
  const otherClient = ingesterClient(() => other.port);
  otherClients.push(otherClient);
  await waitFor(
    async () => (await otherClient.send("GET", "/readyz")).status === 200,
    "other ingester ready",
  );
  return otherClient;
}

describe("POST /v1/commands", () => {
  // 202 only after the confirm, and the message is the Contract's command message.
  it("answers 202 and publishes the Contract's command message", async () => {
    const command = deposit({ currency: "eur" });
    const reply = await send(command);
    expect(reply.status).toBe(202);
    expect(reply.json()).toEqual({ id: command.id, status: "accepted" });

    const message = await tap.take(String(command.id));
    expect(message.fields.exchange).toBe("billing");
    expect(message.fields.routingKey).toBe("command.deposit.create");
    expect(message.properties.messageId).toBe(command.id);
    expect(message.properties.type).toBe("deposit.create");
    expect(message.properties.contentType).toBe("application/json");
    expect(message.properties.deliveryMode).toBe(2);
    expect(message.properties.headers?.["x-source"]).toBe("orders");
    // the validated command, canonical (sorted keys), as lib/client publishes it over AMQP
    expect(JSON.parse(message.content.toString())).toEqual(command);
    expect(message.content.toString()).toBe(
      JSON.stringify(Object.fromEntries(Object.entries(command).sort())),
    );
  });

  // A token given as sha256=<hex> works, x-source names its service, "*" allows every type.
  it("accepts a sha256= token with every scope", async () => {
    const command = { id: `cmd-refund-${Date.now()}`, type: "payment.refund", paymentIntentId: "pi_123" };
    const reply = await send(command, { token: opsToken });
    expect(reply.status).toBe(202);
    expect((await tap.take(command.id)).properties.headers?.["x-source"]).toBe("ops");
  });

  // No token, a malformed header or an unknown token: 401, and nothing is published.
  it.each([
    ["no Authorization header", { token: undefined }],
    ["a Basic header", { token: undefined, headers: { authorization: "Basic b3BzOng=" } }],
    ["an unknown token", { token: "not-a-configured-token-000" }],
    ["a near miss", { token: `${ordersToken}x` }],
  ])("answers 401 to %s", async (_what, options) => {
    const before = await tap.count();
    const reply = await send(deposit(), options);
    expect(reply.status).toBe(401);
    expect(reply.json()).toEqual({ error: "missing or unknown bearer token" });
    expect(reply.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(await tap.count()).toBe(before);
  });

  // A known token outside its scopes: 403 (before the fields are even looked at).
  it("answers 403 when the token lacks the command's scope", async () => {
    const reply = await send({ id: "cmd-x", type: "payment.refund", paymentIntentId: "pi_1" });
    expect(reply.status).toBe(403);
    expect(reply.json()).toEqual({ error: "token may not send payment.refund" });
    const invalidButForbidden = await send({ id: "cmd-y", type: "subscription.cancel" });
    expect(invalidButForbidden.status).toBe(403);
  });

  // Invalid commands: 400 with every field error, from the same validator the worker uses.
  it.each([
    [
      { id: "cmd-1", type: "deposit.create", accountId: "acct_1", amount: 10.5, currency: "USD" },
      ["amount", "currency"],
    ],
    [{ type: "deposit.create", accountId: "acct_1", amount: 1, currency: "usd" }, ["id"]],
    [{ id: "cmd-2", type: "deposit.refund", accountId: "acct_1" }, ["type"]],
    [
      {
        id: "cmd-3",
        type: "balance.charge",
        accountId: "acct_1",
        amount: 5,
        currency: "usd",
        reason: "x",
        extra: 1,
      },
      ["extra"],
    ],
    [[1, 2], ["body"]],
  ])("answers 400 with field errors to %j", async (command, fields) => {
    const reply = await send(command);
    expect(reply.status).toBe(400);
    const json = reply.json() as { error: string; fields: { field: string; message: string }[] };
    expect(json.error).toBe("invalid command");
    expect(json.fields.map((f) => f.field).sort()).toEqual(fields);
    for (const f of json.fields) expect(typeof f.message).toBe("string");
  });

  it("answers 400 to a body that is not JSON", async () => {
    const reply = await send(undefined, { raw: "{not json" });
    expect(reply.status).toBe(400);
    expect(reply.json()).toEqual({ error: "body is not JSON" });
  });

  // Our call (see lib/http/command-route.ts): commands are JSON only; another media type is 415.
  it.each([["text/plain"], ["application/x-www-form-urlencoded"], [""]])(
    "answers 415 to content type %j",
    async (type) => {
      const reply = await send(deposit(), { headers: { "content-type": type } });
      expect(reply.status).toBe(415);
      expect(reply.json()).toEqual({ error: "content type must be application/json" });
    },
  );

  it("accepts application/json with a charset", async () => {
    const reply = await send(deposit(), { headers: { "content-type": "Application/JSON; charset=utf-8" } });
    expect(reply.status).toBe(202);
  });

  it("answers 413 to a body over 1 MiB", async () => {
    const reply = await send(undefined, { raw: Buffer.alloc(1024 * 1024 + 1, 0x20) });
    expect(reply.status).toBe(413);
  });

  it("answers 405 with Allow to another method", async () => {
    const reply = await client.send("PUT", "/v1/commands", { body: "{}" });
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe("POST");
  });

  // Over the token's rate: 429 with Retry-After, per token (another token is not held back).
  it("answers 429 with Retry-After over the token's rate", async () => {
    const limited = await startOther({ COMMAND_TOKENS: tokens, COMMAND_RATE_LIMIT: "1/2" });
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof send>> | undefined;
    for (let i = 0; i < 3; i += 1) {
      const reply = await send(deposit(), { via: limited });
      statuses.push(reply.status);
      if (reply.status === 429) refused = reply;
    }
    expect(statuses).toEqual([202, 202, 429]);
    expect(refused?.json()).toEqual({ error: "rate limit exceeded, retry later" });
    expect(Number(refused?.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(
      (
        await send(
          { id: "cmd-ops-1", type: "payment.refund", paymentIntentId: "pi_9" },
          { via: limited, token: opsToken },
        )
      ).status,
    ).toBe(202);
  });

  // COMMAND_TOKENS empty: HTTP commands are off, every request is 401.
  it("answers 401 to everything when no token is configured", async () => {
    const off = await startOther({});
    expect((await send(deposit(), { via: off })).status).toBe(401);
  });

  // Nothing a caller ever received holds a stack trace, a token or a digest.
  it("never leaks a stack trace or a secret", () => {
    expectNoLeaks(
      [...client.replies, ...otherClients.flatMap((c) => c.replies)],
      [ordersToken, opsToken, opsDigest],
    );
  });
});
