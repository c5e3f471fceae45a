import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { keepAlivePoster } from "../../ops/bench/keep-alive-poster.ts";

// The end-to-end sender's client against a real node:http server: every POST arrives whole with
// its headers, answers are matched to requests over reused sockets, and a dropped connection
// answers 0 instead of hanging.

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: http.RequestListener): Promise<URL> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`);
}

function postAll(url: URL, sockets: number, bodies: string[]): Promise<number[]> {
  const poster = keepAlivePoster(url, sockets);
  const statuses: number[] = new Array(bodies.length);
  let left = bodies.length;
  return new Promise((resolve) => {
    bodies.forEach((body, i) => {
      poster.post(body, { "Stripe-Signature": `t=1,v1=${i}` }, (status) => {
        statuses[i] = status;
        left -= 1;
        if (left === 0) {
          poster.close();
          resolve(statuses);
        }
      });
    });
  });
}

describe("keepAlivePoster", () => {
  it("delivers each body with its headers and matches every answer to its request", async () => {
    const seen: { body: string; signature: string | undefined; path: string | undefined }[] = [];
    const sockets = new Set<unknown>();
    const url = await serve((request, response) => {
      sockets.add(request.socket);
      const chunks: Buffer[] = [];
      request.on("data", (c: Buffer) => chunks.push(c));
      request.on("end", () => {
        const body = Buffer.concat(chunks).toString();
        seen.push({ body, signature: request.headers["stripe-signature"] as string, path: request.url });
        // an even id is refused, so a mix-up of answers would show
        const { n } = JSON.parse(body) as { n: number };
        response.writeHead(n % 2 === 0 ? 400 : 200, { "content-type": "application/json" });
        response.end(JSON.stringify({ received: n, pad: "é".repeat(n) }));
      });
    });
    const bodies = Array.from({ length: 50 }, (_, n) => JSON.stringify({ n, text: "ü".repeat(n) }));
    const statuses = await postAll(url, 4, bodies);
    expect(statuses).toEqual(bodies.map((_, n) => (n % 2 === 0 ? 400 : 200)));
    expect(seen.map((s) => s.body).sort()).toEqual([...bodies].sort());
    expect(seen.every((s) => s.path === "/webhooks/stripe" && s.signature?.startsWith("t=1,v1="))).toBe(true);
    expect(sockets.size).toBeLessThanOrEqual(4);
  });

  it("answers 0 for a request whose connection the server drops, and goes on", async () => {
    let count = 0;
    const url = await serve((request, response) => {
      count += 1;
      if (count === 2) {
        request.socket.destroy();
        return;
      }
      request.resume();
      request.on("end", () => response.end("ok"));
    });
    const statuses = await postAll(url, 1, ["{}", "{}", "{}"]);
    expect(statuses.filter((s) => s === 0)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(2);
  });
});
