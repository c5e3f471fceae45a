// A small HTTP client for the console tests: real requests over a socket, credentials as a
// browser or a script would send them.

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

/** Basic credentials for a console user. */
export function basic(name: string, token: string): string {
  return `Basic ${Buffer.from(`${name}:${token}`).toString("base64")}`;
}

/** Sends one request; never follows a redirect. */
export async function call(
  base: string,
  path: string,
  options: {
    auth?: string;
    accept?: string;
    method?: string;
    body?: string;
    cookie?: string;
    type?: string;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.auth !== undefined) headers.authorization = options.auth;
  if (options.accept !== undefined) headers.accept = options.accept;
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  if (options.body !== undefined)
    headers["content-type"] = options.type ?? "application/x-www-form-urlencoded";
  const response = await fetch(`${base}${path}`, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    body: options.body,
    redirect: "manual",
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: <T>() => JSON.parse(text) as T };
}

/** The session a browser keeps: the cookie of a first answer and the CSRF token it carried. */
export async function openSession(base: string, auth: string): Promise<{ cookie: string; csrf: string }> {
  const first = await call(base, "/", { auth });
  const cookie = first.headers.get("set-cookie")?.split(";")[0];
  const csrf = first.headers.get("x-csrf-token");
  if (cookie === undefined || csrf === null)
    throw new Error("the console set no session cookie or CSRF token");
  return { cookie, csrf };
}

/** The hidden fields of the confirm form of a dry-run page. */
export function confirmFields(page: string): [string, string][] {
  const form = /<form method="post"[^>]*>([\s\S]*?)<\/form>/.exec(page)?.[1] ?? "";
  const decode = (text: string) =>
    text
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&#96;/g, "`")
      .replace(/&amp;/g, "&");
  return [...form.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map((m) => [
    decode(m[1] ?? ""),
    decode(m[2] ?? ""),
  ]);
}
