import { commandMessage } from "../client/command-message.ts";
import type { CommandToken } from "../config.ts";
import { isCommandType } from "../domain/command-types.ts";
import { validateCommand } from "../domain/commands.ts";
import { authenticate } from "./bearer-auth.ts";
import type { Enqueue } from "./enqueue.ts";
import { readRawBody } from "./raw-body.ts";
import { type Answer, answer, type Route, refusal, withDetail } from "./respond.ts";
import { type RateLimiter, retryAfterSeconds } from "./token-bucket.ts";

// POST /v1/commands, in this order: token (401), rate (429), media type (415), body size (413),
// JSON (400), scope of the command's type (403), the worker's own validation (400), publish, and
// 202 only after the broker's confirm. A body sent as anything but application/json is 415, not
// 400: the request may be a fine command, labelled wrong, and 415 says exactly that.
// The message body is the validated command re-serialized as lib/client publishes it over AMQP
// (canonical JSON): a command sent either way is the same bytes, holds nothing the validator did
// not accept, and resending it after a timeout publishes an identical message.

export const commandsPath = "/v1/commands";

const unauthorized = refusal(401, "unknown_token", "missing or unknown bearer token", {
  headers: { "www-authenticate": 'Bearer realm="billing"' },
});
const noToken = { ...unauthorized, reason: "no_token" };
const notJsonType = refusal(415, "unsupported_media_type", "content type must be application/json");
const tooLarge = refusal(413, "body_too_large", "body over 1 MiB", { close: true });
const aborted = refusal(400, "client_aborted", "request body incomplete");
const notJson = refusal(400, "not_json", "body is not JSON");

/** The command route for the configured tokens, with one rate limiter keyed by token; `userId`: as webhooks. */
export function commandRoute(deps: {
  tokens: readonly CommandToken[];
  limiter: RateLimiter<CommandToken>;
  enqueue: Enqueue;
  userId: string;
}): Route {
  return async (req) => {
    const auth = authenticate(req.headers.authorization, deps.tokens);
    if (!auth.ok) {
      if (deps.tokens.length === 0)
        return withDetail(unauthorized, "COMMAND_TOKENS is empty: HTTP commands are off");
      return auth.reason === "no_token" ? noToken : unauthorized;
    }
    const { token } = auth;
    const waitMs = deps.limiter.take(token);
    if (waitMs > 0) {
      return refusal(429, "rate_limited", "rate limit exceeded, retry later", {
        headers: { "retry-after": String(retryAfterSeconds(waitMs)) },
        detail: `service ${token.service}`,
      });
    }
    if (!isJsonMediaType(req.headers["content-type"])) return notJsonType;
    const raw = await readRawBody(req);
    if (!raw.ok) return raw.reason === "too_large" ? tooLarge : aborted;
    let body: unknown;
    try {
      body = JSON.parse(raw.body.toString("utf8"));
    } catch {
      return notJson;
    }
    const forbidden = scopeRefusal(token, body);
    if (forbidden !== undefined) return forbidden;
    const validation = validateCommand(body);
    if (!validation.ok) {
      return answer(
        400,
        { error: "invalid command", fields: validation.errors },
        {
          reason: "invalid_command",
          detail: validation.errors.map((e) => `${e.field}: ${e.message}`).join("; "),
        },
      );
    }
    const { command } = validation;
    const message = commandMessage(command, token.service);
    const refused = await deps.enqueue(commandsPath, message.routingKey, message.content, {
      ...message.options,
      userId: deps.userId,
    });
    if (refused !== undefined) return { ...refused, detail: `${command.id}: ${refused.detail}` };
    return answer(202, { id: command.id, status: "accepted" });
  };
}

// Checked on the raw type before validation: a caller learns nothing about the fields of a type it
// may not send. An unknown type is left to validation (400 naming the known types).
function scopeRefusal(token: CommandToken, body: unknown): Answer | undefined {
  if (token.scopes === "*" || typeof body !== "object" || body === null) return undefined;
  const type = (body as { type?: unknown }).type;
  if (typeof type !== "string" || !isCommandType(type) || token.scopes.has(type)) return undefined;
  return refusal(403, "missing_scope", `token may not send ${type}`, { detail: `service ${token.service}` });
}

// application/json, with or without parameters (charset): the only body this route reads.
function isJsonMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const semicolon = header.indexOf(";");
  return (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase() === "application/json";
}
