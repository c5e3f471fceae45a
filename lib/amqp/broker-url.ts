// What an AMQP URL says about the connection it opens (for a comma-separated list of a cluster's
// nodes, the first one speaks for all: they share users and vhosts).

/** The user an AMQP URL logs in as: its user name, or amqplib's default "guest". */
export function brokerUserOf(url: string): string {
  const user = new URL(firstUrl(url)).username;
  return user === "" ? "guest" : decodeURIComponent(user);
}

/** The vhost an AMQP URL names ("/" when it names none). */
export function vhostOf(url: string): string {
  const path = new URL(firstUrl(url)).pathname.replace(/^\//, "");
  return path === "" ? "/" : decodeURIComponent(path);
}

function firstUrl(url: string): string {
  return url.split(",")[0]?.trim() ?? url;
}
