import { execFile } from "node:child_process";
import { promisify } from "node:util";
import amqplib from "amqplib";
import { names, retryQueueName } from "../../lib/amqp/topology.ts";
import { managementOf, vhostOf, withVhost } from "./service-urls.ts";

const run = promisify(execFile);

/** How a clean broker state was had. */
export interface ScratchVhost {
  readonly url: string;
  /** "management API", "rabbitmqctl", or "queues purged in <vhost>" when neither could create one. */
  readonly how: string;
}

/**
 * A vhost of our own, deleted and created afresh (the broker closes every connection to the old
 * one): through the management API, else rabbitmqctl on this host. When the user may create
 * none, the URL's own vhost is used and its billing queues are deleted (release re-declares them).
 */
export async function recreateVhost(
  amqpUrl: string,
  name: string,
  retryDelaysMs: readonly number[],
): Promise<ScratchVhost> {
  const url = withVhost(amqpUrl, name);
  if (await viaManagement(amqpUrl, name)) return { url, how: "management API" };
  if (await viaRabbitmqctl(amqpUrl, name)) return { url, how: "rabbitmqctl" };
  const own = vhostOf(amqpUrl);
  await deleteBillingQueues(amqpUrl, retryDelaysMs);
  return { url: amqpUrl, how: `billing queues deleted in vhost "${own}" (no right to create a vhost)` };
}

async function viaManagement(amqpUrl: string, name: string): Promise<boolean> {
  const { baseUrl, authorization, user } = managementOf(amqpUrl);
  const call = async (method: "PUT" | "DELETE", path: string, body?: unknown): Promise<Response> =>
    fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
  const vhost = `/vhosts/${encodeURIComponent(name)}`;
  try {
    const deleted = await call("DELETE", vhost);
    if (!deleted.ok && deleted.status !== 404) return false;
    if (!(await call("PUT", vhost, {})).ok) return false;
    const permissions = await call(
      "PUT",
      `/permissions/${encodeURIComponent(name)}/${encodeURIComponent(user)}`,
      {
        configure: ".*",
        write: ".*",
        read: ".*",
      },
    );
    return permissions.ok;
  } catch {
    return false; // no management plugin there
  }
}

async function viaRabbitmqctl(amqpUrl: string, name: string): Promise<boolean> {
  const host = new URL(amqpUrl).hostname;
  if (!["localhost", "127.0.0.1", "::1", "[::1]"].includes(host)) return false;
  const { user } = managementOf(amqpUrl);
  try {
    await run("rabbitmqctl", ["delete_vhost", name]).catch(() => undefined);
    await run("rabbitmqctl", ["add_vhost", name]);
    await run("rabbitmqctl", ["set_permissions", "-p", name, user, ".*", ".*", ".*"]);
    return true;
  } catch {
    return false;
  }
}

async function deleteBillingQueues(amqpUrl: string, retryDelaysMs: readonly number[]): Promise<void> {
  const queues = [names.queue, names.dlq, ...retryDelaysMs.map(retryQueueName)];
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) await channel.deleteQueue(queue);
    await channel.close();
  } finally {
    await connection.close();
  }
}
