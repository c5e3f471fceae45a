import { execFile } from "node:child_process";
import { promisify } from "node:util";

// The local 3-node cluster of ops/cluster/rabbitmq-cluster.sh, as the cluster test drives it: the
// script starts, stops and kills; each node's HTTP API (management plugin) answers the questions,
// in milliseconds where a rabbitmqctl call takes seconds on a busy machine.

const run = promisify(execFile);
const script = new URL("../../ops/cluster/rabbitmq-cluster.sh", import.meta.url).pathname;
const nodes = [1, 2, 3] as const;
const auth = `Basic ${Buffer.from("guest:guest").toString("base64")}`;
/** Nodes the test killed: their API is not asked. */
const dead = new Set<number>();

/** Runs the cluster script with `args`; resolves with its stdout. */
export async function clusterScript(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run("bash", [script, ...args], { timeout: timeoutMs, maxBuffer: 1 << 20 });
  return stdout;
}

/** The HTTP API of the first live node, for `method path`. */
async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  let lastError: unknown;
  for (const n of nodes.filter((node) => !dead.has(node))) {
    try {
      const res = await fetch(`http://127.0.0.1:${15680 + n}/api${path}`, {
        method,
        headers: { authorization: auth, "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok && !(method === "DELETE" && res.status === 404)) {
        throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      }
      return res;
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** AMQP_URL of `vhost` on the cluster: every node, comma-separated. */
export async function clusterUrl(vhost: string): Promise<string> {
  const urls = (await clusterScript(["urls"])).trim().split(",");
  return urls.map((node) => `${node}/${encodeURIComponent(vhost)}`).join(",");
}

/**
 * A vhost for the fleet, as `rabbitmq-cluster.sh vhost` makes it: guest's permissions and the
 * policy that spreads quorum queue leaders over the nodes.
 */
export async function createClusterVhost(vhost: string): Promise<void> {
  const v = encodeURIComponent(vhost);
  await api("PUT", `/vhosts/${v}`);
  await api("PUT", `/permissions/${v}/guest`, { configure: ".*", write: ".*", read: ".*" });
  await api("PUT", `/policies/${v}/billing-leaders`, {
    pattern: "^billing",
    "apply-to": "queues",
    definition: { "queue-leader-locator": "balanced" },
  });
}

/** Deletes `vhost` from the cluster (through a live node). */
export async function deleteClusterVhost(vhost: string): Promise<void> {
  await api("DELETE", `/vhosts/${encodeURIComponent(vhost)}`);
}

/** The queues of `vhost` with their type, leader and members. */
export async function clusterQueues(
  vhost: string,
): Promise<Array<{ name: string; type: string; leader: string; members: string[] }>> {
  const res = await api("GET", `/queues/${encodeURIComponent(vhost)}?columns=name,type,leader,members`);
  return (await res.json()) as Array<{ name: string; type: string; leader: string; members: string[] }>;
}

/** The connections to `vhost`: their name, the node port they reached, and their connection_name. */
export async function clusterConnections(
  vhost: string,
): Promise<Array<{ name: string; port: number; connectionName: string }>> {
  const res = await api("GET", `/vhosts/${encodeURIComponent(vhost)}/connections`);
  const rows = (await res.json()) as Array<{
    name: string;
    port: number;
    client_properties?: { connection_name?: string };
  }>;
  return rows.map((row) => ({
    name: row.name,
    port: row.port,
    connectionName: row.client_properties?.connection_name ?? "",
  }));
}

/** Closes one connection, as an operator would; the client reconnects by itself. */
export async function closeConnection(name: string): Promise<void> {
  await api("DELETE", `/connections/${encodeURIComponent(name)}`, undefined, {
    "x-reason": "moved by the cluster test",
  });
}

/** The node number (1, 2, 3) of a node name like bfc2@localhost. */
export function nodeNumber(nodeName: string): number {
  const match = /(\d+)@/.exec(nodeName);
  if (match === null) throw new Error(`not a cluster node name: ${nodeName}`);
  return Number(match[1]);
}

/** The AMQP port of node `n` (ops/cluster's default ports). */
export function nodePort(n: number): number {
  return 5680 + n;
}

/** kill -9 of node `n`, by the pid its own pid file holds. */
export async function killNode(n: number): Promise<void> {
  const pid = Number((await clusterScript(["pid", String(n)])).trim());
  if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`no pid for node ${n}`);
  dead.add(n);
  process.kill(pid, "SIGKILL");
}
