import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ConsoleUser } from "../../lib/config.ts";
import { readRawBody } from "../../lib/http/raw-body.ts";
import type { Logger } from "../../lib/log.ts";
import { assets } from "./assets.ts";
import { authenticate } from "./console-auth.ts";
import type { ConsoleContext } from "./console-context.ts";
import { type ConsoleRequest, Refusal, type Reply } from "./console-request.ts";
import { createCsrfGuard } from "./csrf.ts";
import { type Html, html } from "./html.ts";
import { layout } from "./layout.ts";
import { MethodRefusal, route } from "./routes.ts";

// The ops console's HTTP server: plain node:http like the ingester. Every request needs
// credentials; every POST a CSRF token; every answer carries a strict Content-Security-Policy (no
// inline script, nothing from another origin) and is HTML for people or JSON for scripts. Nothing
// from an error reaches a page but one line of its message: never a stack trace.

/** Forms are small: a selection of up to 1000 ids and a reason. */
export const maxFormBytes = 64 * 1024;

const securityHeaders: OutgoingHttpHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cache-control": "no-store",
};

const realm = 'Basic realm="billing-fleet ops console", charset="UTF-8"';

export interface ConsoleServer {
  /** Listens on `port` (0: any free port) and resolves with the port. */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting and closes every connection. */
  stop(): Promise<void>;
}

/** The console's server over its routes, for the users of CONSOLE_USERS. */
export function createConsoleServer(deps: {
  ctx: ConsoleContext;
  users: readonly ConsoleUser[];
  log: Logger;
}): ConsoleServer {
  const log = deps.log.child({ subsystem: "console-http" });
  const csrf = createCsrfGuard();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method === "HEAD" ? "GET" : req.method;
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://console.invalid");
    } catch {
      send(res, req, 400, { "content-type": "text/plain; charset=utf-8" }, "bad request\n");
      return;
    }
    const json = url.pathname.endsWith(".json") || wantsJson(req.headers.accept);
    const path = url.pathname.endsWith(".json")
      ? url.pathname.slice(0, -".json".length) || "/"
      : url.pathname;

    const user = authenticate(req.headers.authorization, deps.users);
    if (user === undefined) {
      if (req.headers.authorization !== undefined) log.info({ path }, "console: credentials refused");
      const message = "sign in with your console name and token (CONSOLE_USERS)";
      answerRefusal(res, req, json, undefined, new Refusal(401, message), { "www-authenticate": realm });
      return;
    }
    if (method !== "GET" && method !== "POST") {
      answerRefusal(res, req, json, user.name, new MethodRefusal("GET, HEAD, POST"));
      return;
    }
    const asset = assets.get(url.pathname);
    if (asset !== undefined && method === "GET") {
      send(
        res,
        req,
        200,
        { "content-type": asset.contentType, "content-length": asset.body.length },
        asset.body,
      );
      return;
    }

    const session = csrf.session(req.headers.cookie);
    const sessionHeaders: OutgoingHttpHeaders = {
      "x-csrf-token": csrf.token(user.name, session.id),
      ...(session.setCookie === undefined ? {} : { "set-cookie": session.setCookie }),
    };
    let form = new URLSearchParams();
    if (method === "POST") {
      const body = await readRawBody(req, maxFormBytes);
      if (!body.ok) {
        if (body.reason === "aborted") return;
        const refusal = new Refusal(413, `the form is larger than ${maxFormBytes / 1024} KiB`);
        answerRefusal(res, req, json, user.name, refusal, { connection: "close" });
        return;
      }
      const type = req.headers["content-type"] ?? "";
      if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
        answerRefusal(
          res,
          req,
          json,
          user.name,
          new Refusal(415, "send the form as application/x-www-form-urlencoded"),
        );
        return;
      }
      form = new URLSearchParams(body.body.toString("utf8"));
      const presented = form.get("csrf") ?? header(req, "x-csrf-token");
      if (!csrf.verify(user.name, req.headers.cookie, presented)) {
        log.warn({ user: user.name, path }, "console: POST without a valid CSRF token refused");
        const refusal = new Refusal(
          403,
          "missing or wrong CSRF token: load the page again, then submit its form",
        );
        answerRefusal(res, req, json, user.name, refusal, sessionHeaders);
        return;
      }
    }

    const request: ConsoleRequest = {
      method,
      path,
      query: url.searchParams,
      form,
      user,
      csrf: csrf.token(user.name, session.id),
    };
    let reply: Reply;
    try {
      reply = await route(deps.ctx, request);
    } catch (error) {
      if (error instanceof Refusal) {
        const extra = error instanceof MethodRefusal ? { allow: error.allow } : {};
        if (error.status >= 500)
          log.warn({ path, status: error.status, reason: error.message }, "console: refused");
        answerRefusal(res, req, json, user.name, error, { ...sessionHeaders, ...extra });
        return;
      }
      throw error;
    }
    if (method === "POST")
      log.info(
        { user: user.name, path, location: reply.kind === "redirect" ? reply.location : undefined },
        "console: action",
      );
    if (reply.kind === "redirect") {
      if (json) sendJson(res, req, 200, reply.json, sessionHeaders);
      else send(res, req, 303, { ...sessionHeaders, location: reply.location, "content-length": 0 }, "");
      return;
    }
    if (json) {
      sendJson(res, req, reply.status, reply.json, sessionHeaders);
      return;
    }
    const page = layout({
      title: reply.title,
      section: reply.section,
      user: user.name,
      body: reply.body(),
      refresh: reply.refresh,
    });
    sendHtml(res, req, reply.status, page, sessionHeaders);
  };

  const server = createServer(
    { headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000, noDelay: true },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        // A bug, not a refusal: the stack goes to the log, the page gets a fixed text.
        log.error({ err: error, path: req.url }, "console: request failed");
        if (res.headersSent) res.destroy();
        else send(res, req, 500, { "content-type": "text/plain; charset=utf-8" }, "internal error\n");
      });
    },
  );

  return {
    listen: (port, host) =>
      new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** JSON for scripts: a .json path, or an Accept header that asks for JSON rather than HTML. */
function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && /application\/json/i.test(accept) && !/text\/html/i.test(accept);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function answerRefusal(
  res: ServerResponse,
  req: IncomingMessage,
  json: boolean,
  user: string | undefined,
  refusal: Refusal,
  headers: OutgoingHttpHeaders = {},
): void {
  if (json) {
    sendJson(res, req, refusal.status, { error: refusal.message }, headers);
    return;
  }
  const title = titles[refusal.status] ?? "Refused";
  const body: Html = html`<h1>${title}</h1><div class="banner ${refusal.status >= 500 ? "bad" : "warn"}" role="alert">${refusal.message}</div>
<p><a href="/">Fleet</a> · <a href="/dead-letters">Dead letters</a> · <a href="/audit">Audit</a></p>`;
  sendHtml(res, req, refusal.status, layout({ title, section: undefined, user, body }), headers);
}

const titles: Readonly<Record<number, string>> = {
  400: "Bad request",
  401: "Sign in",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  413: "Too large",
  415: "Unsupported form",
  503: "Unavailable",
};

function sendHtml(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  page: Html,
  headers: OutgoingHttpHeaders,
): void {
  const body = Buffer.from(page.text);
  send(
    res,
    req,
    status,
    { ...headers, "content-type": "text/html; charset=utf-8", "content-length": body.length },
    body,
  );
}

function sendJson(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  value: unknown,
  headers: OutgoingHttpHeaders,
): void {
  const body = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  send(
    res,
    req,
    status,
    { ...headers, "content-type": "application/json", "content-length": body.length },
    body,
  );
}

function send(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  headers: OutgoingHttpHeaders,
  body: Buffer | string,
): void {
  res.writeHead(status, { ...securityHeaders, ...headers });
  res.end(req.method === "HEAD" ? undefined : body);
}
