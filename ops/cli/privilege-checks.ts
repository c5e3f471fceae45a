import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { vhostOf } from "../../lib/amqp/broker-url.ts";
import type { Config } from "../../lib/config.ts";
import { auditProbes, excessPermissions } from "./broker-permission-audit.ts";
import { type BrokerPermissions, type BrokerRole, brokerPermissions } from "./broker-roles.ts";
import type { CheckResult } from "./doctor-checks.ts";
import { rabbitmqctlList } from "./rabbitmqctl.ts";

// doctor's least-privilege checks, on the fleet as it runs: the runtime processes connected right
// now, found by the names they give their connections (PostgreSQL application_name, RabbitMQ
// connection_name), and the users they connect as. PostgreSQL shows every session's user and
// application to any user (pg_stat_activity). For RabbitMQ this uses rabbitmqctl (RABBITMQCTL):
// it needs no management plugin, and reads the users' real permissions instead of probing them
// with publishes that would reach queues. Findings are warnings: the fleet works, but with more
// rights than it needs.

/** PostgreSQL application_name of each runtime process (web needs no database at all). */
const databaseApps: Readonly<Record<string, string>> = {
  "billing-worker": "worker",
  "billing-relay": "relay",
  "billing-reconciler": "reconciler",
  "billing-console": "console",
  "billing-web": "web",
};

/** RabbitMQ connection_name of each runtime process, and its role (broker-permissions). */
function brokerProcess(connectionName: string): { process: string; roles: BrokerRole[] } | undefined {
  const fixed: Record<string, BrokerRole> = {
    "billing-web": "web",
    "billing-worker": "worker",
    "billing-relay": "relay",
    "billing-reconciler": "reconciler",
    "billing-console": "ops",
  };
  const role = fixed[connectionName];
  if (role !== undefined) return { process: connectionName.replace(/^billing-/, ""), roles: [role] };
  // lib/client: a service sending commands and reading their results
  if (connectionName.startsWith("billing-client ")) {
    return { process: connectionName.replace(/^billing-/, ""), roles: ["client", "listener"] };
  }
  return undefined;
}

interface SessionRow {
  app: string;
  user: string;
  superuser: boolean;
  owner: boolean | null;
}

/** Warns when a runtime process connects to PostgreSQL as a superuser or the schema owner (or web connects at all). */
export async function checkDatabaseUsers(config: Config): Promise<CheckResult> {
  const name = "database users";
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({
      pool: new pg.Pool({ connectionString: config.databaseUrl, max: 1, connectionTimeoutMillis: 5000 }),
    }),
  });
  try {
    const { rows } = await sql<SessionRow>`
      SELECT DISTINCT a.application_name AS app, a.usename AS user, r.rolsuper AS superuser,
             pg_has_role(a.usesysid, n.nspowner, 'MEMBER') AS owner
      FROM pg_stat_activity a
      JOIN pg_roles r ON r.oid = a.usesysid
      LEFT JOIN pg_namespace n ON n.nspname = 'billing'
      WHERE a.datname = current_database() AND a.application_name = ANY(${Object.keys(databaseApps)})
      ORDER BY 1, 2`.execute(db);
    if (rows.length === 0) {
      return { name, ok: true, detail: "no runtime process is connected to this database right now" };
    }
    const problems: string[] = [];
    const fine: string[] = [];
    for (const row of rows) {
      const process = databaseApps[row.app] ?? row.app;
      const who = `${process} connects as "${row.user}"`;
      if (process === "web") problems.push(`${who}, but web needs no database`);
      else if (row.superuser) problems.push(`${who}, a superuser`);
      else if (row.owner === true)
        problems.push(`${who}, which owns schema billing (or may act as its owner)`);
      else fine.push(`${process} as "${row.user}"`);
    }
    if (problems.length === 0) {
      return { name, ok: true, detail: `${fine.join(", ")}: neither superuser nor schema owner` };
    }
    return {
      name,
      ok: true,
      warning: true,
      detail: `${problems.join("; ")} (runtime processes should log in as a member of billing_app; RUNBOOK "Least privilege")`,
    };
  } catch (error) {
    return { name, ok: true, warning: true, detail: `not checked: ${reason(error)}` };
  } finally {
    await db.destroy();
  }
}

interface ConnectionRow {
  user: string;
  vhost: string;
  client_properties: unknown;
}

/** Warns when a runtime process's broker user may do more than its role needs (on AMQP_URL's vhost). */
export async function checkBrokerUsers(config: Config): Promise<CheckResult> {
  const name = "broker users";
  const vhost = vhostOf(config.amqpUrl);
  const program = config.rabbitmqctl;
  try {
    // each rabbitmqctl run costs seconds of CPU: the users' permissions only when a process is connected
    const connections = await rabbitmqctlList<ConnectionRow>(program, [
      "list_connections",
      "user",
      "vhost",
      "client_properties",
    ]);
    const byUser = new Map<string, { processes: Set<string>; roles: Set<BrokerRole> }>();
    for (const c of connections) {
      if (c.vhost !== vhost) continue;
      const found = brokerProcess(connectionName(c.client_properties));
      if (found === undefined) continue;
      const entry = byUser.get(c.user) ?? { processes: new Set(), roles: new Set() };
      entry.processes.add(found.process);
      for (const role of found.roles) entry.roles.add(role);
      byUser.set(c.user, entry);
    }
    if (byUser.size === 0) {
      return { name, ok: true, detail: `no runtime process is connected to vhost "${vhost}" right now` };
    }
    const [users, permissions, topics] = await Promise.all([
      rabbitmqctlList<{ user: string; tags: unknown }>(program, ["list_users"]),
      rabbitmqctlList<PermissionRow>(program, ["list_permissions", "-p", vhost]),
      rabbitmqctlList<TopicRow>(program, ["list_topic_permissions", "-p", vhost]),
    ]);
    const probes = auditProbes(config.retryDelaysMs);
    const verdicts = [...byUser].map(([user, { processes, roles }]) => {
      const excess = excessPermissions(
        actualPermissions(user, permissions, topics),
        brokerPermissions([...roles], user),
        probes,
      );
      const tags = users.find((u) => u.user === user)?.tags;
      if (JSON.stringify(tags ?? []).includes("impersonator")) {
        excess.push("has the impersonator tag, so it may publish any user_id");
      }
      return { who: `${[...processes].sort().join(", ")} as "${user}"`, excess };
    });
    const problems = verdicts.filter((v) => v.excess.length > 0);
    if (problems.length === 0) {
      return {
        name,
        ok: true,
        detail: `${verdicts.map((v) => v.who).join("; ")}: no more than their roles need`,
      };
    }
    return {
      name,
      ok: true,
      warning: true,
      detail: `${problems.map((p) => `${p.who} ${p.excess.join("; ")}`).join(" | ")} (billing-ops broker-permissions gives each role what it needs)`,
    };
  } catch (error) {
    return { name, ok: true, warning: true, detail: `not checked: ${reason(error)}` };
  }
}

type PermissionRow = { user: string; configure: string; write: string; read: string };
type TopicRow = { user: string; exchange: string; write: string; read: string };

function actualPermissions(
  user: string,
  permissions: PermissionRow[],
  topics: TopicRow[],
): BrokerPermissions {
  const here = permissions.find((p) => p.user === user);
  return {
    // no entry: no access to the vhost at all ("" matches nothing)
    configure: here?.configure ?? "",
    write: here?.write ?? "",
    read: here?.read ?? "",
    topics: topics
      .filter((t) => t.user === user)
      .map((t) => ({ exchange: t.exchange, write: t.write, read: t.read })),
  };
}

/** client_properties as rabbitmqctl's JSON shows them: [[key, type, value], …]. */
function connectionName(properties: unknown): string {
  if (!Array.isArray(properties)) return "";
  const entry = properties.find((p) => Array.isArray(p) && p[0] === "connection_name");
  return Array.isArray(entry) && typeof entry[2] === "string" ? entry[2] : "";
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
