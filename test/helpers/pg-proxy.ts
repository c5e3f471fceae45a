import { startTcpProxy, type TcpProxy } from "../relay/tcp-proxy.ts";
import { pgAdminUrl } from "./services.ts";

// A database outage without touching the machine's PostgreSQL: the process under test reaches it
// through a TCP proxy the test can cut (connections reset, new ones refused) and restore.

/** A proxy in front of the test PostgreSQL server. */
export async function startPgProxy(): Promise<TcpProxy> {
  const server = new URL(pgAdminUrl);
  return startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
}

/** The database URL `url` reached through `proxy`. */
export function throughPgProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = "127.0.0.1";
  parsed.port = String(proxy.port);
  return parsed.toString();
}
