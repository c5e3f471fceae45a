import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { registry } from "./registry.ts";

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Answers /healthz, /readyz and /metrics; returns false for any other path so a caller may serve it. */
export async function serveHealth(
  req: IncomingMessage,
  res: ServerResponse,
  isReady: () => boolean,
): Promise<boolean> {
  const path = (req.url ?? "/").split("?", 1)[0];
  if (path !== "/healthz" && path !== "/readyz" && path !== "/metrics") return false;
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { "content-type": "application/json", allow: "GET, HEAD" });
    res.end(JSON.stringify({ error: "method not allowed" }));
    return true;
  }
  if (path === "/metrics") {
    const body = await registry.metrics();
    res.writeHead(200, { "content-type": registry.contentType });
    res.end(body);
  } else if (path === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok" }));
  } else {
    const ready = isReady();
    res.writeHead(ready ? 200 : 503, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: ready ? "ready" : "not ready" }));
  }
  return true;
}

/** The tiny metrics and health server of the worker and relay processes. */
export async function startHealthServer(options: {
  port: number;
  host?: string;
  isReady: () => boolean;
}): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    serveHealth(req, res, options.isReady)
      .then((served) => {
        if (!served) {
          res.writeHead(404, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: "not found" }));
        }
      })
      .catch(() => {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "internal error" }));
      });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
