import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Logger } from "../log.ts";
import { serveHealth } from "../metrics/health-server.ts";
import { httpInFlight, httpRefusals, httpRequests } from "../metrics/registry.ts";
import {
  type Answer,
  internalError,
  methodNotAllowed,
  notFound,
  type Route,
  writeAnswer,
} from "./respond.ts";

// The ingester's HTTP server: exact-path routing, every answer written, counted and (when a
// refusal) logged in one place, timeouts against slow clients, and a drain on stop.

/** Socket timeouts: a slow or silent client cannot hold a socket (or a body buffer) for long. */
export interface ServerTimeouts {
  /** Until the request's headers are complete. */
  readonly headersMs: number;
  /** Until the whole request (body included) is received. */
  readonly requestMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveMs: number;
  /** How often Node checks the two timeouts above. */
  readonly checkIntervalMs: number;
}

export const defaultTimeouts: ServerTimeouts = {
  headersMs: 10_000,
  requestMs: 30_000,
  keepAliveMs: 5_000,
  checkIntervalMs: 1_000,
};

export interface IngestServer {
  readonly server: Server;
  /** Listens on `port` (0: any free port) and resolves with the port. */
  listen(port: number, host?: string): Promise<number>;
  /**
   * Stops accepting, lets requests in progress finish (their publishes confirmed or refused) for at
   * most `drainMs`, then closes every connection.
   */
  stop(drainMs: number): Promise<void>;
}

const health = new Set(["/healthz", "/readyz", "/metrics"]);
const postOnly = methodNotAllowed("POST");
const unmatched = "unmatched";

interface RouteEntry {
  readonly name: string;
  readonly handle: Route;
  /** Counters by status, built (labels validated) once rather than on every request. */
  readonly answered: Map<number, { inc(): void }>;
}

/** The ingester's server over its POST routes (path → route); health paths are served too. */
export function createIngestServer(deps: {
  routes: Readonly<Record<string, Route>>;
  isReady: () => boolean;
  log: Logger;
  timeouts?: ServerTimeouts;
}): IngestServer {
  const log = deps.log.child({ subsystem: "http" });
  const timeouts = deps.timeouts ?? defaultTimeouts;
  const routes = new Map<string, RouteEntry>(
    Object.entries(deps.routes).map(([path, handle]) => [path, { name: path, handle, answered: new Map() }]),
  );
  const other: RouteEntry = { name: unmatched, handle: () => Promise.resolve(notFound), answered: new Map() };
  let stopping = false;
  let active = 0;
  // Sockets that have not yet sent a whole request: cut at once on stop (nothing was promised).
  const unused = new Set<Socket>();
  let onIdle: (() => void) | undefined;

  const finish = (res: ServerResponse, route: RouteEntry, reply: Answer) => {
    if (!res.headersSent && !res.destroyed) writeAnswer(res, reply, stopping);
    let counter = route.answered.get(reply.status);
    if (counter === undefined) {
      counter = httpRequests.labels(route.name, String(reply.status));
      route.answered.set(reply.status, counter);
    }
    counter.inc();
    if (reply.reason !== undefined) {
      httpRefusals.inc({ route: route.name, reason: reply.reason });
      // a 500 was already logged with its error where it was caught
      if (reply === internalError) return;
      const line = { route: route.name, status: reply.status, reason: reply.reason, detail: reply.detail };
      if (reply.status >= 500) log.warn(line, "request refused");
      else log.info(line, "request refused");
    }
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    unused.delete(req.socket);
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    const route = routes.get(path);
    if (route === undefined) {
      if (health.has(path)) {
        // Probes and scrapes are not traffic: they are not counted in billing_http_requests_total.
        serveHealth(req, res, deps.isReady).catch((error: unknown) => {
          log.error({ err: error, path }, "health endpoint failed");
          if (!res.headersSent) writeAnswer(res, internalError, stopping);
        });
        return;
      }
      finish(res, other, notFound);
      return;
    }
    if (req.method !== "POST") {
      finish(res, route, postOnly);
      return;
    }
    active += 1;
    httpInFlight.inc();
    route.handle(req).then(
      (reply) => done(res, route, reply),
      (error: unknown) => {
        // A bug, not a refusal: the stack goes to the log, the caller gets a fixed text.
        log.error({ err: error, route: route.name }, "request failed");
        done(res, route, internalError);
      },
    );
  };

  const done = (res: ServerResponse, route: RouteEntry, reply: Answer) => {
    try {
      finish(res, route, reply);
    } finally {
      active -= 1;
      httpInFlight.dec();
      if (active === 0) onIdle?.();
    }
  };

  const server = createServer(
    {
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
      keepAliveTimeout: timeouts.keepAliveMs,
      noDelay: true,
    },
    listener,
  );
  server.keepAliveTimeout = timeouts.keepAliveMs;
  server.on("connection", (socket: Socket) => {
    unused.add(socket);
    socket.once("close", () => unused.delete(socket));
  });

  const drained = (ms: number) =>
    new Promise<boolean>((resolve) => {
      if (active === 0) {
        resolve(true);
        return;
      }
      const timer = setTimeout(() => {
        onIdle = undefined;
        resolve(false);
      }, ms);
      onIdle = () => {
        clearTimeout(timer);
        onIdle = undefined;
        resolve(true);
      };
    });

  return {
    server,
    listen: (port, host) =>
      new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    async stop(drainMs) {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const socket of unused) socket.destroy();
      if (!(await drained(drainMs))) {
        log.warn({ requests: active }, "stop: requests still in progress after the drain; closing them");
      }
      // Answers just written close their connections themselves (Connection: close); a moment for
      // them to flush, then whatever is left (idle or half-sent requests) is cut.
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 100).unref())]);
      server.closeAllConnections();
      await closed;
    },
  };
}
