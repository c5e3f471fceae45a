import type { IncomingMessage, ServerResponse } from "node:http";
import type { StripeErrorBody } from "./stripe-error.ts";

/** Largest request body accepted (Stripe's requests are small forms). */
export const maxBodyBytes = 1024 * 1024;

/** The request body as text, or null when it exceeds `maxBodyBytes`. */
export async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBodyBytes) return null;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Writes a JSON body (already serialized) with its status and headers. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  response.end(body);
}

/** Stripe's error envelope, serialized. */
export function errorJson(error: StripeErrorBody): string {
  return JSON.stringify({ error });
}
