import type { ConsoleContext } from "./console-context.ts";
import { type ConsoleRequest, Refusal, type Reply } from "./console-request.ts";
import { actionPerform, actionPreview } from "./pages/action-pages.ts";
import { auditEntryPage, auditPage } from "./pages/audit-page.ts";
import { deadLettersPage } from "./pages/dead-letters-page.ts";
import { fleetPage } from "./pages/fleet-page.ts";
import { letterPage } from "./pages/letter-page.ts";

// The console's pages by path and method; one table, an unknown path is a 404 and a known path
// with another method a 405 naming the allowed ones.

type Handler = (ctx: ConsoleContext, req: ConsoleRequest, id: number) => Promise<Reply>;

interface Route {
  readonly pattern: RegExp;
  readonly get?: Handler;
  readonly post?: Handler;
}

const routes: readonly Route[] = [
  { pattern: /^\/(?:fleet)?$/, get: (ctx) => fleetPage(ctx) },
  { pattern: /^\/dead-letters$/, get: deadLettersPage },
  {
    pattern: /^\/dead-letters\/replay$/,
    get: (ctx, req) => actionPreview(ctx, req, "replay"),
    post: (ctx, req) => actionPerform(ctx, req, "replay"),
  },
  {
    pattern: /^\/dead-letters\/purge$/,
    get: (ctx, req) => actionPreview(ctx, req, "purge"),
    post: (ctx, req) => actionPerform(ctx, req, "purge"),
  },
  { pattern: /^\/dead-letters\/(\d{1,15})$/, get: (ctx, _req, id) => letterPage(ctx, id) },
  { pattern: /^\/audit$/, get: (ctx) => auditPage(ctx) },
  { pattern: /^\/audit\/(\d{1,15})$/, get: (ctx, _req, id) => auditEntryPage(ctx, id) },
];

/** A refused method: 405 with the methods the path takes. */
export class MethodRefusal extends Refusal {
  override name = "MethodRefusal";
  readonly allow: string;

  constructor(allow: string) {
    super(405, "method not allowed");
    this.allow = allow;
  }
}

/** Answers a request; throws a Refusal for what cannot be answered as asked. */
export async function route(ctx: ConsoleContext, req: ConsoleRequest): Promise<Reply> {
  for (const candidate of routes) {
    const match = candidate.pattern.exec(req.path);
    if (match === null) continue;
    const handler = req.method === "GET" ? candidate.get : candidate.post;
    if (handler === undefined) {
      throw new MethodRefusal(
        [candidate.get && "GET, HEAD", candidate.post && "POST"].filter(Boolean).join(", "),
      );
    }
    return handler(ctx, req, Number(match[1] ?? 0));
  }
  throw new Refusal(404, `no page ${req.path}`);
}
