import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

// Every POST carries a token bound to the user and to a session cookie: HMAC(process secret,
// user + session id). A page of another origin can make the browser send the cookie and the Basic
// credentials, but it cannot read a page of ours, so it cannot know the token. The secret is new
// at every start: a form loaded before a restart is refused and must be loaded again.

export const sessionCookie = "console_session";
const sessionPattern = /^[A-Za-z0-9_-]{22,64}$/;

export interface CsrfGuard {
  /** The session a request carries, or a new one to set (with its Set-Cookie header). */
  session(cookieHeader: string | undefined): { id: string; setCookie: string | undefined };
  /** The token forms of this user and session carry. */
  token(user: string, sessionId: string): string;
  /** True when `presented` is the token of this user and the session the request carries. */
  verify(user: string, cookieHeader: string | undefined, presented: string | undefined): boolean;
}

/** A guard with a fresh secret. */
export function createCsrfGuard(): CsrfGuard {
  const secret = randomBytes(32);
  const token = (user: string, sessionId: string) =>
    createHmac("sha256", secret).update(`${user}\n${sessionId}`).digest("base64url");
  return {
    session(cookieHeader) {
      const id = readSession(cookieHeader);
      if (id !== undefined) return { id, setCookie: undefined };
      const fresh = randomBytes(18).toString("base64url");
      return { id: fresh, setCookie: `${sessionCookie}=${fresh}; Path=/; HttpOnly; SameSite=Strict` };
    },
    token,
    verify(user, cookieHeader, presented) {
      const id = readSession(cookieHeader);
      if (id === undefined || presented === undefined) return false;
      const expected = Buffer.from(token(user, id));
      const given = Buffer.from(presented);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

function readSession(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? "").split(";")) {
    const [name, value] = part.trim().split("=", 2);
    if (name === sessionCookie && value !== undefined && sessionPattern.test(value)) return value;
  }
  return undefined;
}
