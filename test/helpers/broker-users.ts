import { randomBytes } from "node:crypto";
import amqplib from "amqplib";
import { brokerDefinitions } from "../../ops/cli/broker-definitions.ts";
import type { BrokerRole } from "../../ops/cli/broker-roles.ts";
import {
  deleteUsersViaManagement,
  listUsersViaManagement,
  type ManagementApi,
  putUsersViaManagement,
} from "../../ops/cli/management-users.ts";
import { rabbitmqctl, rabbitmqctlList } from "../../ops/cli/rabbitmqctl.ts";
import { amqpBase, rabbitManagementUrl, testVhostPrefix } from "./services.ts";
import { waitFor } from "./wait.ts";

// Broker users of a test's own, with exactly the permissions `billing-ops broker-permissions`
// gives their roles: through the management API when it runs (cheap), else in one `rabbitmqctl
// import_definitions` (each rabbitmqctl run costs seconds of CPU). Names carry their birth time, so
// a later run deletes what a killed run left behind.

const program = ["rabbitmqctl"] as const;
const management: ManagementApi = {
  baseUrl: `${rabbitManagementUrl}/api`,
  authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}`,
};

export interface BrokerUser {
  readonly name: string;
  /** AMQP URL of the vhost as this user. */
  readonly url: string;
}

/** Creates one user per entry, each with its roles' permissions on `vhost`; resolves once all can log in. */
export async function createBrokerUsers<K extends string>(
  vhost: string,
  specs: Record<K, { roles: readonly BrokerRole[]; queuePrefix?: string }>,
): Promise<Record<K, BrokerUser> & { deleteAll(): Promise<void> }> {
  const entries = Object.entries(specs) as [K, { roles: readonly BrokerRole[]; queuePrefix?: string }][];
  const made = entries.map(([key, spec]) => {
    const name = `${testVhostPrefix}${Date.now()}_${randomBytes(4).toString("hex")}_${key}`;
    const password = randomBytes(12).toString("hex");
    const url = new URL(amqpBase);
    url.username = encodeURIComponent(name);
    url.password = password;
    url.pathname = `/${encodeURIComponent(vhost)}`;
    return { key, name, password, url: url.toString(), ...spec };
  });
  const deleteAll = async () => {
    if (
      await deleteUsersViaManagement(
        management,
        made.map((u) => u.name),
      )
    )
      return;
    await Promise.all(made.map((u) => rabbitmqctl(program, ["delete_user", u.name]).catch(() => undefined)));
  };
  try {
    const defined = made.map((u) => ({ ...u, vhost }));
    if (!(await putUsersViaManagement(management, defined))) {
      const definitions = JSON.stringify(brokerDefinitions(defined));
      await rabbitmqctl(program, ["import_definitions", "--format", "json"], definitions);
    }
    // the import finishes asynchronously: wait until every user logs in
    for (const user of made) await waitFor(() => canLogIn(user.url), `broker user ${user.name}`, 15_000);
  } catch (error) {
    await deleteAll();
    throw error;
  }
  const users = Object.fromEntries(made.map((u) => [u.key, { name: u.name, url: u.url }])) as Record<
    K,
    BrokerUser
  >;
  return Object.assign(users, { deleteAll });
}

async function canLogIn(url: string): Promise<boolean> {
  try {
    const connection = await amqplib.connect(url);
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

/** Deletes test users created over `olderThanMs` ago (left by killed runs). */
export async function deleteStaleBrokerUsers(olderThanMs: number): Promise<void> {
  let users = await listUsersViaManagement(management);
  try {
    users ??= (await rabbitmqctlList<{ user: string }>(program, ["list_users"])).map((u) => u.user);
  } catch {
    return;
  }
  const stale = users.filter((name) => {
    const born = new RegExp(`^${testVhostPrefix}(\\d{13})_`).exec(name)?.[1];
    return born !== undefined && Date.now() - Number(born) > olderThanMs;
  });
  if (stale.length === 0 || (await deleteUsersViaManagement(management, stale))) return;
  await Promise.all(stale.map((name) => rabbitmqctl(program, ["delete_user", name]).catch(() => undefined)));
}
