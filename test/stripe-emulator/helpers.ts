import http from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import type { StripeEmulator } from "../../ops/stripe-emulator/server.ts";

/** The real stripe package pointed at the emulator, as the fleet builds it from STRIPE_API_URL. */
export function stripeClient(emulator: StripeEmulator, key = "sk_test_emulator"): Stripe {
  const url = new URL(emulator.url);
  return new Stripe(key, {
    host: url.hostname,
    port: Number(url.port),
    protocol: "http",
    maxNetworkRetries: 0,
  });
}

/** A webhook POST as the receiver saw it. */
export interface ReceivedWebhook {
  body: string;
  signature: string;
  eventId: string;
  type: string;
}

/** A tiny webhook endpoint: records every POST and answers `status()` (200 unless told otherwise). */
export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  status: () => number;
  close(): Promise<void>;
}

/** Starts a receiver on an ephemeral port. */
export async function startReceiver(): Promise<WebhookReceiver> {
  const receiver: Omit<WebhookReceiver, "url" | "close"> = { received: [], status: () => 200 };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const event = JSON.parse(body) as { id: string; type: string };
      receiver.received.push({
        body,
        signature: String(request.headers["stripe-signature"]),
        eventId: event.id,
        type: event.type,
      });
      response.writeHead(receiver.status(), { "content-type": "application/json" });
      response.end('{"received":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/webhooks/stripe`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

/** Calls an /_emulator/ endpoint (no API key: these are the emulator's own, not Stripe's). */
export async function control<T>(
  emulator: StripeEmulator,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as T };
}
