import { randomBytes } from "node:crypto";
import amqplib from "amqplib";
import pg from "pg";
import { brokerUserOf } from "../../lib/amqp/broker-url.ts";
import { brokerDefinitions, type DefinedUser } from "../cli/broker-definitions.ts";
import { putUsersViaManagement } from "../cli/management-users.ts";
import { rabbitmqctl } from "../cli/rabbitmqctl.ts";
import { managementOf, vhostOf } from "../fleet-runner/service-urls.ts";

// Least privilege in the demo: after release (which runs as the owners), every process logs in as
// its own PostgreSQL login role (granted billing_app) and its own broker user (its role's
// permissions, as `billing-ops broker-permissions` grants them), and the worker trusts Stripe
// events from the ingester's user only. The names are fixed (billing_demo_*), the passwords new
// each run. When the servers do not let us create users, the demo says so and runs as one user.

/** The environment each process gets on top of the shared one, and the URLs the demo's own clients use. */
export interface ProcessUsers {
  readonly web: Record<string, string>;
  readonly worker: Record<string, string>;
  readonly relay: Record<string, string>;
  readonly reconciler: Record<string, string>;
  /** The demo's own service: sends commands (lib/client and a careless raw publish), listens to billing.events. */
  readonly clientAmqpUrl: string;
  /** One line for the progress output. */
  readonly note: string;
}

const prefix = "billing_demo";

/** Creates (or refreshes) the demo's users; falls back to the admin URLs with a note. */
export async function createProcessUsers(admin: {
  databaseUrl: string;
  amqpUrl: string;
}): Promise<ProcessUsers> {
  const password = () => randomBytes(16).toString("hex");
  const login = { worker: `${prefix}_worker`, relay: `${prefix}_relay`, reconciler: `${prefix}_reconciler` };
  const broker = {
    web: { name: `${prefix}_web`, password: password() },
    worker: { name: `${prefix}_worker`, password: password() },
    relay: { name: `${prefix}_relay`, password: password() },
    reconciler: { name: `${prefix}_reconciler`, password: password() },
    client: { name: `${prefix}_shop`, password: password() },
  };
  const [databaseUrls, brokerHow] = await Promise.allSettled([
    loginRoles(admin.databaseUrl, Object.values(login)),
    brokerUsers(admin.amqpUrl, [
      { ...broker.web, roles: ["web"] },
      { ...broker.worker, roles: ["worker"] },
      { ...broker.relay, roles: ["relay"] },
      { ...broker.reconciler, roles: ["reconciler"] },
      { ...broker.client, roles: ["client", "listener"] },
    ]),
  ]);
  const as = (user: { name: string; password: string }) => {
    const url = new URL(admin.amqpUrl);
    url.username = encodeURIComponent(user.name);
    url.password = encodeURIComponent(user.password);
    return url.toString();
  };
  const notes: string[] = [];
  let db: Record<"worker" | "relay" | "reconciler", string> = {
    worker: admin.databaseUrl,
    relay: admin.databaseUrl,
    reconciler: admin.databaseUrl,
  };
  if (databaseUrls.status === "fulfilled") {
    db = {
      worker: databaseUrls.value[0] ?? admin.databaseUrl,
      relay: databaseUrls.value[1] ?? admin.databaseUrl,
      reconciler: databaseUrls.value[2] ?? admin.databaseUrl,
    };
    notes.push(`PostgreSQL logins ${login.worker}, ${login.relay}, ${login.reconciler} (billing_app)`);
  } else {
    notes.push(`PostgreSQL: one user for all (cannot create login roles: ${reason(databaseUrls.reason)})`);
  }
  if (brokerHow.status === "fulfilled") {
    notes.push(
      `RabbitMQ users ${Object.values(broker)
        .map((u) => u.name)
        .join(", ")} (${brokerHow.value})`,
    );
    return {
      web: { AMQP_URL: as(broker.web) },
      worker: {
        DATABASE_URL: db.worker,
        AMQP_URL: as(broker.worker),
        // the ingester's webhooks and the reconciler's healed events
        STRIPE_EVENT_PUBLISHERS: `${broker.web.name},${broker.reconciler.name}`,
      },
      relay: { DATABASE_URL: db.relay, AMQP_URL: as(broker.relay) },
      reconciler: { DATABASE_URL: db.reconciler, AMQP_URL: as(broker.reconciler) },
      clientAmqpUrl: as(broker.client),
      note: `  each process its own user: ${notes.join("; ")}`,
    };
  }
  notes.push(`RabbitMQ: one user for all (cannot create users: ${reason(brokerHow.reason)})`);
  return {
    web: {},
    worker: { DATABASE_URL: db.worker },
    relay: { DATABASE_URL: db.relay },
    reconciler: { DATABASE_URL: db.reconciler },
    clientAmqpUrl: admin.amqpUrl,
    note: `  ${notes.join("; ")}`,
  };
}

/** Login roles granted billing_app, with new passwords; resolves with their URLs of the same database. */
async function loginRoles(databaseUrl: string, names: readonly string[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  client.on("error", () => {});
  await client.connect();
  try {
    const urls: string[] = [];
    for (const name of names) {
      const secret = randomBytes(16).toString("hex");
      const role = pg.escapeIdentifier(name);
      const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [name]);
      // a password is a literal in CREATE/ALTER ROLE: no parameters there
      const withPassword = `LOGIN PASSWORD ${pg.escapeLiteral(secret)}`;
      if (exists.rowCount === 0) await client.query(`CREATE ROLE ${role} ${withPassword}`);
      else await client.query(`ALTER ROLE ${role} ${withPassword}`);
      await client.query(`GRANT billing_app TO ${role}`);
      const url = new URL(databaseUrl);
      url.username = encodeURIComponent(name);
      url.password = secret;
      urls.push(url.toString());
    }
    return urls;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates (or updates) the users with their roles' permissions on the URL's vhost; resolves with how. */
async function brokerUsers(amqpUrl: string, users: readonly Omit<DefinedUser, "vhost">[]): Promise<string> {
  const vhost = vhostOf(amqpUrl);
  const defined = users.map((u) => ({ ...u, vhost }));
  let how: string;
  if (await putUsersViaManagement(managementOf(amqpUrl), defined)) how = "management API";
  else {
    const host = new URL(amqpUrl).hostname;
    if (!["localhost", "127.0.0.1", "::1", "[::1]"].includes(host)) {
      throw new Error("no management API, and rabbitmqctl reaches only a local broker");
    }
    await rabbitmqctl(
      ["rabbitmqctl"],
      ["import_definitions", "--format", "json"],
      JSON.stringify(brokerDefinitions(defined)),
    );
    how = "rabbitmqctl";
  }
  // the import completes asynchronously: wait until each user logs in
  for (const user of defined) {
    const url = new URL(amqpUrl);
    url.username = encodeURIComponent(user.name);
    url.password = encodeURIComponent(user.password);
    await loggedIn(url.toString());
  }
  return how;
}

async function loggedIn(url: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const connection = await amqplib.connect(url);
      await connection.close();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${brokerUserOf(url)} cannot log in: ${reason(error)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
