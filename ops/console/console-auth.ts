import { createHash, timingSafeEqual } from "node:crypto";
import type { ConsoleUser } from "../../lib/config.ts";

// Every request carries CONSOLE_USERS credentials: HTTP Basic (user = name, password = token) or
// `Authorization: Bearer <token>`. Only sha256 digests are compared, each with timingSafeEqual and
// against every entry, so the time taken says nothing about how much matched or which entry did.

const basic = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i;
const bearer = /^Bearer[ \t]+([!-~]+)[ \t]*$/i;

/** The user an Authorization header proves, or undefined. */
export function authenticate(
  header: string | undefined,
  users: readonly ConsoleUser[],
): ConsoleUser | undefined {
  if (header === undefined) return undefined;
  let name: string | undefined;
  let token: string | undefined;
  const basicMatch = basic.exec(header);
  if (basicMatch !== null) {
    const decoded = Buffer.from(basicMatch[1] ?? "", "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    name = decoded.slice(0, colon);
    token = decoded.slice(colon + 1);
  } else {
    token = bearer.exec(header)?.[1];
  }
  if (token === undefined || token === "") return undefined;
  const digest = sha256(token);
  const nameDigest = name === undefined ? undefined : sha256(name);
  let match: ConsoleUser | undefined;
  for (const user of users) {
    const tokenOk = timingSafeEqual(digest, user.sha256);
    // With Basic the name must be the one the token belongs to.
    const nameOk = nameDigest === undefined || timingSafeEqual(nameDigest, sha256(user.name));
    if (tokenOk && nameOk && match === undefined) match = user;
  }
  return match;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
