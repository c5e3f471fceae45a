import { type IncomingHttpHeaders, request } from "node:http";
import { Writable } from "node:stream";
import amqplib, { type GetMessage } from "amqplib";
import Stripe from "stripe";
import { expect } from "vitest";
import { createLogger, type Logger } from "../../lib/log.ts";

// A plain HTTP client for the ingester over a real socket (one connection per request, exact
// bytes and headers), Stripe-signed bodies, and a reader of the messages bound to `billing`.

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  json(): unknown;
}

export interface Client {
  /** Sends one request; `body` is sent as is, with its Content-Length unless `chunked`. */
  send(
    method: string,
    path: string,
    options?: { body?: string | Buffer; headers?: Record<string, string>; chunked?: boolean },
  ): Promise<Reply>;
  /** Every reply received so far (for the no-leak assertion). */
  readonly replies: Reply[];
}

/** A client for the ingester on `port()`, recording every reply. */
export function ingesterClient(port: () => number): Client {
  const replies: Reply[] = [];
  return {
    replies,
    send(method, path, options = {}) {
      return new Promise<Reply>((resolve, reject) => {
        const body = options.body === undefined ? undefined : Buffer.from(options.body);
        const req = request(
          {
            host: "127.0.0.1",
            port: port(),
            method,
            path,
            agent: false,
            headers: {
              ...(body !== undefined && options.chunked !== true ? { "content-length": body.length } : {}),
              ...options.headers,
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => {
              const text = Buffer.concat(chunks).toString("utf8");
              const reply = {
                status: res.statusCode ?? 0,
                headers: res.headers,
                text,
                json: () => JSON.parse(text),
              };
              replies.push(reply);
              resolve(reply);
            });
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    },
  };
}

/** A signed webhook: the exact body and its Stripe-Signature header. */
export function signedWebhook(
  event: Record<string, unknown> | string,
  secret: string,
  timestampS = Math.floor(Date.now() / 1000),
): { body: string; headers: Record<string, string> } {
  const body = typeof event === "string" ? event : JSON.stringify(event);
  const signature = Stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret,
    timestamp: timestampS,
  });
  return { body, headers: { "content-type": "application/json", "stripe-signature": signature } };
}

let sequence = 0;

/** A Stripe-shaped event with a fresh id. */
export function stripeEvent(
  type = "invoice.paid",
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  sequence += 1;
  return {
    id: `evt_test_${Date.now()}_${sequence}`,
    object: "event",
    type,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: { object: { id: `in_test_${sequence}`, object: "invoice" } },
    ...extra,
  };
}

/** A queue of the test's own bound to `billing` with `#`: it sees every message the ingester publishes. */
export async function tapBilling(url: string): Promise<{
  take(messageId: string, timeoutMs?: number): Promise<GetMessage>;
  count(): Promise<number>;
  close(): Promise<void>;
}> {
  const connection = await amqplib.connect(url);
  const channel = await connection.createChannel();
  await channel.assertExchange("billing", "topic", { durable: true });
  const { queue } = await channel.assertQueue("", { exclusive: true });
  await channel.bindQueue(queue, "billing", "#");
  const seen = new Map<string, GetMessage>();
  return {
    async take(messageId, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!seen.has(messageId)) {
        const message = await channel.get(queue, { noAck: true });
        if (message === false) {
          if (Date.now() > deadline) throw new Error(`no message ${messageId} on the billing tap`);
          await new Promise((r) => setTimeout(r, 20));
        } else seen.set(String(message.properties.messageId), message);
      }
      const found = seen.get(messageId) as GetMessage;
      seen.delete(messageId);
      return found;
    },
    async count() {
      return (await channel.checkQueue(queue)).messageCount + seen.size;
    },
    async close() {
      await connection.close();
    },
  };
}

/** No reply ever carries a stack trace or one of `secrets`, in its body or its headers. */
export function expectNoLeaks(replies: readonly Reply[], secrets: readonly string[]): void {
  expect(replies.length).toBeGreaterThan(0);
  for (const reply of replies) {
    const text = `${JSON.stringify(reply.headers)}\n${reply.text}`;
    expect(text).not.toMatch(/\n\s+at |Error:|\.ts:\d+|node:internal|file:\/\//);
    for (const secret of secrets) expect(text).not.toContain(secret);
    if (reply.status >= 400 && reply.text !== "") {
      // every refusal is a short JSON reason (/readyz says its status)
      const json = reply.json() as { error?: unknown; status?: unknown };
      expect(typeof (json.error ?? json.status)).toBe("string");
      expect(reply.text.length).toBeLessThan(4096);
    }
  }
}

/** A real logger whose JSON lines are kept, to check what a refusal logs. */
export function capturingLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line !== "") lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger({ level: "info", name: "web", destination }), lines: () => lines };
}
