import { randomBytes } from "node:crypto";
import pg from "pg";
import { databaseUrl, pgAdminUrl, testDatabasePrefix } from "./services.ts";

// PostgreSQL login roles of a test's own (roles are global to the cluster), members of the
// fleet's group roles, as a deployment's users would be. Names carry their birth time, so a later
// run drops what a killed run left behind. The test server trusts local connections: no password.

export interface LoginRole {
  readonly name: string;
  /** A URL of database `database` as this role. */
  urlOf(database: string): string;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: pgAdminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates one login role per entry, each a member of its groups (billing_app, …). */
export async function createLoginRoles<K extends string>(
  specs: Record<K, readonly string[]>,
): Promise<Record<K, LoginRole> & { dropAll(): Promise<void> }> {
  const entries = Object.entries(specs) as [K, readonly string[]][];
  const made = entries.map(([key, groups]) => ({
    key,
    groups,
    name: `${testDatabasePrefix}${Date.now()}_${randomBytes(4).toString("hex")}_${key}`,
  }));
  const dropAll = () =>
    admin(async (c) => {
      for (const role of made) {
        await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role.name)}`).catch(() => undefined);
      }
    });
  await admin(async (c) => {
    for (const role of made) {
      const groups = role.groups.map((g) => pg.escapeIdentifier(g)).join(", ");
      await c.query(
        `CREATE ROLE ${pg.escapeIdentifier(role.name)} LOGIN${groups === "" ? "" : ` IN ROLE ${groups}`}`,
      );
    }
  });
  const roles = Object.fromEntries(
    made.map((role) => [
      role.key,
      {
        name: role.name,
        urlOf(database: string) {
          const url = new URL(databaseUrl(database));
          url.username = encodeURIComponent(role.name);
          url.password = "";
          return url.toString();
        },
      },
    ]),
  ) as Record<K, LoginRole>;
  return Object.assign(roles, { dropAll });
}

/** Drops test login roles created over `olderThanMs` ago (left by killed runs). */
export async function dropStaleLoginRoles(olderThanMs: number): Promise<void> {
  await admin(async (c) => {
    const { rows } = await c.query<{ rolname: string }>(
      "SELECT rolname FROM pg_roles WHERE rolname LIKE $1 AND rolcanlogin",
      [`${testDatabasePrefix}%`],
    );
    for (const { rolname } of rows) {
      const born = /_(\d{13})_/.exec(rolname)?.[1];
      if (born !== undefined && Date.now() - Number(born) > olderThanMs) {
        await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(rolname)}`).catch(() => undefined);
      }
    }
  });
}
