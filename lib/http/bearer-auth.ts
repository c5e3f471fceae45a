import { createHash, timingSafeEqual } from "node:crypto";
import type { CommandToken } from "../config.ts";

export type Authentication =
  | { readonly ok: true; readonly token: CommandToken }
  | { readonly ok: false; readonly reason: "no_token" | "unknown_token" };

const bearer = /^Bearer[ \t]+([!-~]+)[ \t]*$/i;

/**
 * Finds the configured token an `Authorization: Bearer …` header carries. Only sha256 digests are
 * compared, each with timingSafeEqual and against every entry, so the time taken says nothing
 * about how much of a token matched or which entry did.
 */
export function authenticate(header: string | undefined, tokens: readonly CommandToken[]): Authentication {
  const presented = header === undefined ? undefined : bearer.exec(header)?.[1];
  if (presented === undefined) return { ok: false, reason: "no_token" };
  const digest = createHash("sha256").update(presented).digest();
  let match: CommandToken | undefined;
  for (const token of tokens) {
    if (timingSafeEqual(digest, token.sha256) && match === undefined) match = token;
  }
  return match === undefined ? { ok: false, reason: "unknown_token" } : { ok: true, token: match };
}
