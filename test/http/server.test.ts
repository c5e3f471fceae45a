import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerTimeouts } from "../../lib/http/server.ts";
import type { Running } from "../../lib/lifecycle.ts";
import { startWeb } from "../../workers/web.ts";
import { testConfig, testLogger, testSecrets } from "../helpers/config.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";
import { signedWebhook, stripeEvent } from "./ingester-fixtures.ts";

// The server's hardening and shutdown, over raw sockets: a slow or silent client cannot hold a
// socket, and stop() lets a request in progress finish (its publish confirmed) before closing.

const fast: ServerTimeouts = { headersMs: 300, requestMs: 600, keepAliveMs: 300, checkIntervalMs: 100 };
let vhost: TestVhost;
const started: Array<Running & { port: number }> = [];

beforeAll(async () => {
  vhost = testVhost();
  await vhost.create();
});
afterAll(async () => {
  await Promise.all(started.map((web) => web.stop()));
  await vhost?.delete();
});

async function start(): Promise<Running & { port: number }> {
  const web = await startWeb(testConfig("web", { amqpUrl: vhost.url }), testLogger("web"), {
    host: "127.0.0.1",
    timeouts: fast,
  });
  started.push(web);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${web.port}/readyz`)).status === 200, "ready");
  return web;
}

interface RawSocket {
  readonly socket: Socket;
  /** Everything the server wrote so far. */
  received(): string;
  /** Resolves with the ms from `since` until the server closed the socket. */
  closed: Promise<number>;
}

async function open(port: number): Promise<RawSocket> {
  const socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const since = Date.now();
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  socket.on("error", () => undefined);
  const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now() - since)));
  return { socket, received: () => text, closed };
}

function head(path: string, body: string, headers: Record<string, string>): string {
  const lines = Object.entries({
    host: "127.0.0.1",
    "content-length": String(Buffer.byteLength(body)),
    ...headers,
  });
  return `POST ${path} HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`;
}

describe("timeouts", () => {
  // Slowloris: headers that never finish are cut after the headers timeout.
  it("closes a socket whose headers never complete", async () => {
    const web = await start();
    const raw = await open(web.port);
    raw.socket.write("POST /webhooks/stripe HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    const ms = await raw.closed;
    expect(ms).toBeLessThan(2000);
    expect(raw.received()).not.toMatch(/^HTTP\/1\.1 2/);
  });

  // A body that stops arriving is cut after the request timeout: never a 2xx.
  it("answers 408 and closes when the body stalls", async () => {
    const web = await start();
    const raw = await open(web.port);
    const signed = signedWebhook(stripeEvent(), testSecrets.webhookSecret);
    raw.socket.write(head("/webhooks/stripe", signed.body, signed.headers));
    raw.socket.write(signed.body.slice(0, 10));
    const ms = await raw.closed;
    expect(ms).toBeLessThan(2500);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  // Keep-alive: an idle connection is closed after the keep-alive timeout.
  it("closes an idle keep-alive connection", async () => {
    const web = await start();
    const raw = await open(web.port);
    raw.socket.write("GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
    const ms = await raw.closed;
    expect(raw.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(raw.received()).toMatch(/keep-alive/i);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(2000);
  });
});

describe("clients that go away", () => {
  // A client that hangs up mid-body leaves nothing behind: no request stays counted in flight,
  // and the next request is served.
  it("forgets a request whose client hung up mid-body", async () => {
    const web = await start();
    const raw = await open(web.port);
    const signed = signedWebhook(stripeEvent(), testSecrets.webhookSecret);
    raw.socket.write(head("/webhooks/stripe", signed.body, signed.headers));
    raw.socket.write(signed.body.slice(0, 10));
    await new Promise((r) => setTimeout(r, 50));
    raw.socket.destroy();
    await raw.closed;
    const base = `http://127.0.0.1:${web.port}`;
    await waitFor(
      async () => /billing_http_in_flight_requests 0/.test(await (await fetch(`${base}/metrics`)).text()),
      "no request in flight",
    );
    const reply = await fetch(`${base}/webhooks/stripe`, {
      method: "POST",
      body: signed.body,
      headers: signed.headers,
    });
    expect(reply.status).toBe(200);
  });
});

describe("stop", () => {
  // Graceful: no new connection is accepted, the request in progress is answered 200 after its
  // confirm (with Connection: close), and stop() is idempotent.
  it("drains a request in progress, refuses new connections, and is idempotent", async () => {
    const web = await start();
    const raw = await open(web.port);
    const idle = await open(web.port);
    const event = stripeEvent();
    const signed = signedWebhook(event, testSecrets.webhookSecret);
    raw.socket.write(head("/webhooks/stripe", signed.body, signed.headers));
    raw.socket.write(signed.body.slice(0, 10));
    await new Promise((r) => setTimeout(r, 50));

    const stopping = web.stop();
    expect(await idle.closed).toBeLessThan(1000);
    await expect(fetch(`http://127.0.0.1:${web.port}/healthz`)).rejects.toThrow();
    raw.socket.write(signed.body.slice(10));
    await raw.closed;
    expect(raw.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(raw.received()).toMatch(/connection: close/i);
    expect(raw.received()).toContain('{"received":true}');
    await stopping;
    await web.stop();
  });

  // A socket that never sends a whole request does not hold the stop up.
  it("stops promptly with a half-sent request open", async () => {
    const web = await start();
    const raw = await open(web.port);
    raw.socket.write("POST /webhooks/stripe HTTP/1.1\r\n");
    const before = Date.now();
    await web.stop();
    expect(Date.now() - before).toBeLessThan(1500);
    await raw.closed;
  });
});
