import { randomBytes } from "node:crypto";
import { type BrokerRole, brokerPermissions, rabbitmqctlCommands } from "../../ops/broker-roles.ts";
import { rabbitmqctl, rabbitmqctlList } from "../../ops/rabbitmqctl.ts";
import { amqpBase, testVhostPrefix } from "./services.ts";

// Broker users of a test's own, with exactly the permissions `billing-ops broker-permissions`
// gives a role, through rabbitmqctl (the management plugin may be off). Names carry their birth
// time, so a later run deletes what a killed run left behind.

const program = ["rabbitmqctl"] as const;

export interface BrokerUser {
  readonly name: string;
  /** AMQP URL of `vhost` as this user. */
  readonly url: string;
}

/** Creates one user per entry (concurrently), each with its roles' permissions on `vhost`. */
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
    return { key, name, password, url: url.toString(), spec };
  });
  const deleteAll = async () => {
    await Promise.all(made.map((u) => rabbitmqctl(program, ["delete_user", u.name]).catch(() => undefined)));
  };
  try {
    await Promise.all(made.map((u) => rabbitmqctl(program, ["add_user", u.name, u.password])));
    await Promise.all(
      made.flatMap((u) =>
        rabbitmqctlCommands(u.name, vhost, brokerPermissions(u.spec.roles, u.spec.queuePrefix ?? u.name)).map(
          (args) => rabbitmqctl(program, args),
        ),
      ),
    );
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

/** Deletes test users created over `olderThanMs` ago (left by killed runs). */
export async function deleteStaleBrokerUsers(olderThanMs: number): Promise<void> {
  let users: { user: string }[];
  try {
    users = await rabbitmqctlList<{ user: string }>(program, ["list_users"]);
  } catch {
    return;
  }
  const stale = users
    .map((u) => u.user)
    .filter((name) => {
      const born = new RegExp(`^${testVhostPrefix}(\\d{13})_`).exec(name)?.[1];
      return born !== undefined && Date.now() - Number(born) > olderThanMs;
    });
  await Promise.all(stale.map((name) => rabbitmqctl(program, ["delete_user", name]).catch(() => undefined)));
}
