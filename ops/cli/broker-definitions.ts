import { createHash, randomBytes } from "node:crypto";
import { type BrokerRole, brokerPermissions } from "./broker-roles.ts";

// RabbitMQ definitions (the JSON `rabbitmqctl import_definitions` and the `load_definitions` boot
// option read): broker users with their role's permissions, created in one step.

export interface DefinedUser {
  readonly name: string;
  readonly password: string;
  readonly vhost: string;
  readonly roles: readonly BrokerRole[];
  /** A listener's own queues are named `<prefix>.…` (default: the user name). */
  readonly queuePrefix?: string;
  /** Management tags, e.g. ["administrator"] for the user release and ops tools log in with. */
  readonly tags?: readonly string[];
}

/** RabbitMQ's stored password: base64(salt ‖ sha256(salt ‖ password)) with a 4-byte salt. */
export function rabbitPasswordHash(password: string, salt: Buffer = randomBytes(4)): string {
  const digest = createHash("sha256")
    .update(Buffer.concat([salt, Buffer.from(password, "utf8")]))
    .digest();
  return Buffer.concat([salt, digest]).toString("base64");
}

/** Whether `hash` (as rabbitPasswordHash writes it) is the hash of `password`. */
export function matchesPasswordHash(hash: string, password: string): boolean {
  const salt = Buffer.from(hash, "base64").subarray(0, 4);
  return salt.length === 4 && rabbitPasswordHash(password, salt) === hash;
}

/** Definitions creating these users (and their vhosts) with exactly their roles' permissions. */
export function brokerDefinitions(users: readonly DefinedUser[]) {
  const granted = users.map((u) => ({
    user: u,
    permissions: brokerPermissions(u.roles, u.queuePrefix ?? u.name),
  }));
  return {
    users: users.map((u) => ({
      name: u.name,
      password_hash: rabbitPasswordHash(u.password),
      hashing_algorithm: "rabbit_password_hashing_sha256",
      tags: [...(u.tags ?? [])],
    })),
    vhosts: [...new Set(users.map((u) => u.vhost))].map((name) => ({ name })),
    permissions: granted.map(({ user, permissions }) => ({
      user: user.name,
      vhost: user.vhost,
      configure: permissions.configure,
      write: permissions.write,
      read: permissions.read,
    })),
    topic_permissions: granted.flatMap(({ user, permissions }) =>
      permissions.topics.map((t) => ({ user: user.name, vhost: user.vhost, ...t })),
    ),
  };
}
