/** host:port/vhost of a node URL, for logs and messages: never its credentials. */
export function nodeName(node: unknown): string | undefined {
  if (typeof node !== "string") return undefined;
  try {
    const url = new URL(node);
    return `${url.host}${url.pathname === "" ? "/" : url.pathname}`;
  } catch {
    return undefined;
  }
}
