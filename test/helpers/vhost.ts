import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { amqpBase, rabbitManagementUrl, testVhostPrefix } from "./services.ts";

const run = promisify(execFile);

export interface TestVhost {
  readonly name: string;
  /** AMQP URL of this vhost. */
  readonly url: string;
  /** Creates the vhost (again) and grants guest every permission on it. */
  create(): Promise<void>;
  /** Deletes the vhost: every connection to it is closed by the broker. */
  delete(): Promise<void>;
}

const auth = `Basic ${Buffer.from("guest:guest").toString("base64")}`;

async function management(method: "PUT" | "DELETE", path: string, body?: unknown): Promise<boolean> {
  try {
    const res = await fetch(`${rabbitManagementUrl}/api${path}`, {
      method,
      headers: { authorization: auth, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.ok || (method === "DELETE" && res.status === 404)) return true;
    throw new Error(`RabbitMQ management ${method} ${path}: ${res.status} ${await res.text()}`);
  } catch (error) {
    if (error instanceof TypeError) return false; // management plugin not reachable: use rabbitmqctl
    throw error;
  }
}

/** A vhost of its own for one test file, so files can run in parallel and never share queues. */
export function testVhost(): TestVhost {
  // The creation time in the name lets a later run delete what a killed run left behind.
  const name = `${testVhostPrefix}${Date.now()}_${randomBytes(4).toString("hex")}`;
  const url = `${amqpBase}/${encodeURIComponent(name)}`;
  const encoded = encodeURIComponent(name);
  return {
    name,
    url,
    async create() {
      if (await management("PUT", `/vhosts/${encoded}`, {})) {
        await management("PUT", `/permissions/${encoded}/guest`, {
          configure: ".*",
          write: ".*",
          read: ".*",
        });
        return;
      }
      await run("rabbitmqctl", ["add_vhost", name]);
      await run("rabbitmqctl", ["set_permissions", "-p", name, "guest", ".*", ".*", ".*"]);
    },
    async delete() {
      if (await management("DELETE", `/vhosts/${encoded}`)) return;
      await run("rabbitmqctl", ["delete_vhost", name]).catch(() => undefined);
    },
  };
}

/** Deletes test vhosts created over `olderThanMs` ago (left by killed runs). */
export async function deleteStaleVhosts(olderThanMs: number): Promise<void> {
  let names: string[];
  try {
    const res = await fetch(`${rabbitManagementUrl}/api/vhosts?columns=name`, {
      headers: { authorization: auth },
    });
    if (!res.ok) return;
    names = ((await res.json()) as { name: string }[]).map((v) => v.name);
  } catch {
    return;
  }
  for (const name of names) {
    const born = new RegExp(`^${testVhostPrefix}(\\d{13})_`).exec(name)?.[1];
    if (born !== undefined && Date.now() - Number(born) > olderThanMs) {
      await management("DELETE", `/vhosts/${encodeURIComponent(name)}`);
    }
  }
}
