import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Running } from "../../lib/lifecycle.ts";
import { startWeb } from "../../workers/web.ts";
import { testConfig } from "../helpers/config.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  capturingLogger,
  expectNoLeaks,
  ingesterClient,
  signedWebhook,
  stripeEvent,
  tapBilling,
} from "./ingester-fixtures.ts";

// POST /webhooks/stripe over a real socket against a real RabbitMQ vhost: every row of the
// Contract's table, the message as the Contract describes it, and no leak in any answer.

const oldSecret = "whsec_old_rotation_0123456789";
const newSecret = "whsec_new_rotation_9876543210";
const toleranceS = 60;
const mib = 1024 * 1024;

let vhost: TestVhost;
let web: Running & { port: number };
let tap: Awaited<ReturnType<typeof tapBilling>>;
const client = ingesterClient(() => web.port);
const logged = capturingLogger();

beforeAll(async () => {
  vhost = testVhost();
  await vhost.create();
  const config = testConfig("web", {
    amqpUrl: vhost.url,
    STRIPE_WEBHOOK_SECRET: `${oldSecret},${newSecret}`,
    STRIPE_WEBHOOK_TOLERANCE_S: String(toleranceS),
  });
  web = await startWeb(config, logged.log, { host: "127.0.0.1" });
  await waitFor(async () => (await client.send("GET", "/readyz")).status === 200, "ingester ready");
  tap = await tapBilling(vhost.url);
});
afterAll(async () => {
  await tap?.close();
  await web?.stop();
  await vhost?.delete();
});

const post = (webhook: { body: string | Buffer; headers: Record<string, string> }) =>
  client.send("POST", "/webhooks/stripe", webhook);

describe("POST /webhooks/stripe", () => {
  // 200 only after the confirm, and the message is exactly the Contract's webhook message.
  it("answers 200 and publishes the exact bytes with the Contract's properties", async () => {
    const event = stripeEvent("payment_intent.succeeded");
    // odd spacing and key order: the body must travel byte for byte, never re-serialized
    const body = `{ "object":"event",\n  "id": "${event.id}", "type":"payment_intent.succeeded", "created": 1 , "x":"é" }`;
    const reply = await post(signedWebhook(body, newSecret));
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({ received: true });
    expect(reply.headers["content-type"]).toBe("application/json");

    const message = await tap.take(String(event.id));
    expect(message.fields.exchange).toBe("billing");
    expect(message.fields.routingKey).toBe("stripe.payment_intent.succeeded");
    expect(message.properties.messageId).toBe(event.id);
    expect(message.properties.type).toBe("payment_intent.succeeded");
    expect(message.properties.contentType).toBe("application/json");
    expect(message.properties.deliveryMode).toBe(2);
    expect(message.properties.headers?.["x-source"]).toBe("stripe");
    expect(message.content.equals(Buffer.from(body))).toBe(true);
  });

  // Rotation: the first secret and the second both verify.
  it.each([
    ["first", oldSecret],
    ["second", newSecret],
  ])("verifies with the %s of two rotated secrets", async (_which, secret) => {
    const event = stripeEvent("customer.created");
    expect((await post(signedWebhook(event, secret))).status).toBe(200);
    expect((await tap.take(String(event.id))).properties.messageId).toBe(event.id);
  });

  // The tolerance: a timestamp just inside is accepted, just outside refused (2 s of test slack).
  it("accepts a timestamp just inside the tolerance and refuses one just outside", async () => {
    const now = Math.floor(Date.now() / 1000);
    const inside = stripeEvent();
    expect((await post(signedWebhook(inside, newSecret, now - toleranceS + 2))).status).toBe(200);
    const outside = await post(signedWebhook(stripeEvent(), newSecret, now - toleranceS - 2));
    expect(outside.status).toBe(400);
    expect(outside.json()).toEqual({ error: "timestamp outside tolerance" });
  });

  // Every way a delivery can fail verification is a 400 with a short reason, and nothing is published.
  it.each([
    [
      "no signature",
      () => ({ body: JSON.stringify(stripeEvent()), headers: {} }),
      "missing Stripe-Signature header",
    ],
    [
      "a malformed signature",
      () => ({ body: JSON.stringify(stripeEvent()), headers: { "stripe-signature": "sig" } }),
      "malformed Stripe-Signature header",
    ],
    [
      "an unknown secret",
      () => signedWebhook(stripeEvent(), "whsec_attacker_000000"),
      "signature does not match",
    ],
    [
      "a body changed after signing",
      () => {
        const signed = signedWebhook(stripeEvent(), newSecret);
        return { ...signed, body: signed.body.replace("invoice.paid", "invoice.void") };
      },
      "signature does not match",
    ],
    [
      "a valid signature over non-JSON",
      () => signedWebhook("not json at all", newSecret),
      "body is not JSON",
    ],
    [
      "a valid signature over JSON that is not an event",
      () => signedWebhook({ id: "in_1", object: "invoice" }, newSecret),
      "body is not a Stripe event",
    ],
    [
      "a valid signature over an event id without evt_",
      () => signedWebhook({ ...stripeEvent(), id: "ch_123" }, newSecret),
      "body is not a Stripe event",
    ],
  ])("refuses %s with 400", async (_what, make, error) => {
    const before = await tap.count();
    const reply = await post(make());
    expect(reply.status).toBe(400);
    expect(reply.json()).toEqual({ error });
    expect(await tap.count()).toBe(before);
  });

  // The cap is exactly 1 MiB: a 1 MiB event is accepted (and published whole).
  it("accepts a body of exactly 1 MiB", async () => {
    const event = stripeEvent("invoice.finalized", { pad: "" });
    const padding = mib - JSON.stringify(event).length;
    const body = JSON.stringify({ ...event, pad: "p".repeat(padding) });
    expect(body.length).toBe(mib);
    expect((await post(signedWebhook(body, newSecret))).status).toBe(200);
    expect((await tap.take(String(event.id))).content.length).toBe(mib);
  });

  // One byte over the cap is refused up front from Content-Length.
  it("answers 413 to 1 MiB + 1 byte", async () => {
    const body = Buffer.alloc(mib + 1, 0x20);
    const reply = await post({ body, headers: signedWebhook("{}", newSecret).headers });
    expect(reply.status).toBe(413);
    expect(reply.json()).toEqual({ error: "body over 1 MiB" });
    expect(reply.headers.connection).toBe("close");
  });

  // Without a Content-Length the answer comes as soon as the cap is passed: the client has not
  // finished sending (the request is never ended here) and the rest is never read.
  it("answers 413 to a chunked body as soon as it passes 1 MiB", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port: web.port,
        method: "POST",
        path: "/webhooks/stripe",
        agent: false,
        headers: { ...signedWebhook("{}", newSecret).headers, "transfer-encoding": "chunked" },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on("error", (error) => reject(error));
      req.write(Buffer.alloc(mib / 2, 0x20));
      req.write(Buffer.alloc(mib / 2 + 1, 0x20));
    });
    expect(status).toBe(413);
  });

  // Only POST, only the Contract's paths.
  it("answers 405 with Allow to another method, and 404 to an unknown path", async () => {
    const wrongMethod = await client.send("GET", "/webhooks/stripe");
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe("POST");
    const unknown = await client.send(
      "POST",
      "/webhooks/stripe/extra",
      signedWebhook(stripeEvent(), newSecret),
    );
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toEqual({ error: "not found" });
    // a query string does not change the route
    expect((await post({ ...signedWebhook(stripeEvent(), newSecret) })).status).toBe(200);
    const withQuery = await client.send(
      "POST",
      "/webhooks/stripe?attempt=2",
      signedWebhook(stripeEvent(), newSecret),
    );
    expect(withQuery.status).toBe(200);
  });

  // Refusals are counted by reason; requests by route and status.
  it("counts requests and signature rejections in /metrics", async () => {
    const text = (await client.send("GET", "/metrics")).text;
    expect(text).toMatch(/billing_http_requests_total\{route="\/webhooks\/stripe",status="200"\} [1-9]/);
    expect(text).toMatch(/billing_webhook_signature_rejections_total\{reason="bad_signature"\} [1-9]/);
    expect(text).toMatch(
      /billing_http_refusals_total\{route="\/webhooks\/stripe",reason="not_event"\} [1-9]/,
    );
    expect(text).toMatch(
      /billing_enqueue_duration_seconds_count\{route="\/webhooks\/stripe",outcome="confirmed"\} [1-9]/,
    );
  });

  // Nothing a caller ever received holds a stack trace or a webhook secret.
  it("never leaks a stack trace or a secret", () => {
    expectNoLeaks(client.replies, [oldSecret, newSecret, "whsec_"]);
  });

  // Every refusal is one log line with its reason; no line holds a secret or a signature.
  it("logs one line per refusal, without secrets or signatures", () => {
    const refusals = logged.lines().filter((line) => line.msg === "request refused");
    const refused = client.replies.filter((reply) => reply.status >= 400 && reply.text.includes('"error"'));
    // + the chunked 413, sent outside the recording client
    expect(refusals.length).toBe(refused.length + 1);
    for (const line of refusals) expect(typeof line.reason).toBe("string");
    expect(refusals.map((line) => line.reason)).toEqual(
      expect.arrayContaining(["timestamp_outside_tolerance", "bad_signature", "not_json", "not_event"]),
    );
    const text = JSON.stringify(logged.lines());
    for (const secret of [oldSecret, newSecret, "whsec_", "v1="]) expect(text).not.toContain(secret);
  });
});
