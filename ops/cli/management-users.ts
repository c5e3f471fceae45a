import type { DefinedUser } from "./broker-definitions.ts";
import { brokerPermissions } from "./broker-roles.ts";

// Broker users through RabbitMQ's management HTTP API, when the plugin runs: an HTTP call each,
// where rabbitmqctl starts an Erlang VM (seconds) per command. Callers fall back to rabbitmqctl.

/** Where the management API is and how to log in to it (a user tagged administrator). */
export interface ManagementApi {
  /** e.g. http://127.0.0.1:15672/api */
  readonly baseUrl: string;
  readonly authorization: string;
}

/**
 * Creates (or updates) each user with its roles' permissions on its vhost. False when the API
 * cannot be reached or refuses a step (the caller then uses rabbitmqctl).
 */
export async function putUsersViaManagement(
  api: ManagementApi,
  users: readonly DefinedUser[],
): Promise<boolean> {
  try {
    for (const user of users) {
      const name = encodeURIComponent(user.name);
      const vhost = encodeURIComponent(user.vhost);
      const { configure, write, read, topics } = brokerPermissions(user.roles, user.queuePrefix ?? user.name);
      const answers = [
        await call(api, "PUT", `/users/${name}`, {
          password: user.password,
          tags: (user.tags ?? []).join(","),
        }),
        await call(api, "PUT", `/permissions/${vhost}/${name}`, { configure, write, read }),
        ...(await Promise.all(topics.map((t) => call(api, "PUT", `/topic-permissions/${vhost}/${name}`, t)))),
      ];
      if (answers.some((ok) => !ok)) return false;
    }
    return true;
  } catch {
    return false; // no management plugin there
  }
}

/** Deletes users; false when the API cannot be reached. */
export async function deleteUsersViaManagement(
  api: ManagementApi,
  names: readonly string[],
): Promise<boolean> {
  try {
    for (const name of names) await call(api, "DELETE", `/users/${encodeURIComponent(name)}`);
    return true;
  } catch {
    return false;
  }
}

/** Every user's name; undefined when the API cannot be reached. */
export async function listUsersViaManagement(api: ManagementApi): Promise<string[] | undefined> {
  try {
    const response = await fetch(`${api.baseUrl}/users?columns=name`, {
      headers: { authorization: api.authorization },
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) return undefined;
    return ((await response.json()) as { name: string }[]).map((u) => u.name);
  } catch {
    return undefined;
  }
}

async function call(
  api: ManagementApi,
  method: "PUT" | "DELETE",
  path: string,
  body?: unknown,
): Promise<boolean> {
  const response = await fetch(`${api.baseUrl}${path}`, {
    method,
    headers: { authorization: api.authorization, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  await response.body?.cancel();
  return response.ok || (method === "DELETE" && response.status === 404);
}
