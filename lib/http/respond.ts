import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";

// Routes return an Answer; the server alone writes, counts and logs it. Bodies are serialized
// once when built and only ever hold fixed texts or field errors: never a stack trace or a secret.

/** What a route answers. */
export interface Answer {
  readonly status: number;
  /** Status line headers, content-type and content-length included. */
  readonly head: OutgoingHttpHeaders;
  readonly body: Buffer;
  /** Why the request was refused, as a metric label (snake_case); absent on success. */
  readonly reason?: string;
  /** A longer explanation for the log line only. */
  readonly detail?: string;
  /** Close the connection after answering: the rest of the request body is never read. */
  readonly close?: boolean;
}

/** A POST route: reads the request and says what to answer. */
export type Route = (req: IncomingMessage) => Promise<Answer>;

/** A JSON answer; `extra` holds headers such as Retry-After or Allow. */
export function answer(
  status: number,
  json: unknown,
  extra: { headers?: OutgoingHttpHeaders; reason?: string; detail?: string; close?: boolean } = {},
): Answer {
  const body = Buffer.from(JSON.stringify(json));
  return {
    status,
    head: { "content-type": "application/json", "content-length": body.length, ...extra.headers },
    body,
    ...(extra.reason === undefined ? {} : { reason: extra.reason }),
    ...(extra.detail === undefined ? {} : { detail: extra.detail }),
    ...(extra.close === true ? { close: true } : {}),
  };
}

/** A refusal: `{"error": message}` with its reason code for the metric and the log. */
export function refusal(
  status: number,
  reason: string,
  message: string,
  extra: { headers?: OutgoingHttpHeaders; detail?: string; close?: boolean } = {},
): Answer {
  return answer(status, { error: message }, { ...extra, reason });
}

/** The same refusal with a detail for the log (the body is shared, not copied). */
export function withDetail(base: Answer, detail: string): Answer {
  return { ...base, detail };
}

/** Writes an answer; `closing` asks the client to go away (the server is stopping). */
export function writeAnswer(res: ServerResponse, reply: Answer, closing: boolean): void {
  res.writeHead(reply.status, closing || reply.close ? { ...reply.head, connection: "close" } : reply.head);
  res.end(reply.body);
}

export const notFound = refusal(404, "not_found", "not found");
export const internalError = refusal(500, "internal_error", "internal error");

/** 405 naming the methods the path allows. */
export function methodNotAllowed(allow: string): Answer {
  return refusal(405, "method_not_allowed", "method not allowed", { headers: { allow } });
}
