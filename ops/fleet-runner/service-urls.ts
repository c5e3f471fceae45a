// Where the demo and the benchmark look for PostgreSQL and RabbitMQ: the Contract's variables when
// set, else the Contract's defaults and then the credentials this machine (root, guest) and
// docker-compose.yml (billing:billing, and billing-release on its broker) use. Pure: the probing
// lives in local-services.ts.

type Env = Readonly<Record<string, string | undefined>>;

/** Postgres server URLs to try, in order; the database part is replaced by the caller. */
export function postgresCandidates(env: Env): string[] {
  const set = env.DATABASE_URL?.trim();
  if (set !== undefined && set !== "") return [set];
  return unique([
    "postgres://localhost:5432/billing",
    "postgres://root@localhost:5432/billing",
    "postgres://billing:billing@localhost:5432/billing",
  ]);
}

/** RabbitMQ URLs to try, in order; the vhost part is replaced by the caller. */
export function amqpCandidates(env: Env): string[] {
  const set = env.AMQP_URL?.trim();
  if (set !== undefined && set !== "") return [set];
  return [
    "amqp://guest:guest@localhost:5672",
    "amqp://billing-release:release@localhost:5672",
    "amqp://billing:billing@localhost:5672",
  ];
}

/** The same server with another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** The same broker with another vhost ("/" is the default vhost). */
export function withVhost(url: string, vhost: string): string {
  const parsed = new URL(url);
  parsed.pathname = vhost === "/" ? "" : `/${encodeURIComponent(vhost)}`;
  return parsed.toString().replace(/\/$/, "");
}

/** The vhost an AMQP URL names ("/" when it names none). */
export function vhostOf(url: string): string {
  const path = new URL(url).pathname.replace(/^\//, "");
  return path === "" ? "/" : decodeURIComponent(path);
}

/** The management API of the broker an AMQP URL names (RabbitMQ's default port 15672), with its credentials. */
export function managementOf(url: string): { baseUrl: string; authorization: string; user: string } {
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username || "guest");
  const password = decodeURIComponent(parsed.password || "guest");
  const host = parsed.hostname.includes(":") ? `[${parsed.hostname}]` : parsed.hostname;
  return {
    baseUrl: `http://${host}:15672/api`,
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
    user,
  };
}

/** A URL with its password masked, for messages. */
export function maskPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== "") parsed.password = "***";
  return parsed.toString();
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
