import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { migrateUp, migrationsFolder } from "../../lib/db/migrator.ts";
import { deleteStaleBrokerUsers } from "./broker-users.ts";
import { dropStaleLoginRoles } from "./login-roles.ts";
import { databaseUrl, pgAdminUrl, testDatabasePrefix } from "./services.ts";
import { deleteStaleVhosts } from "./vhost.ts";

// Once per run: a migrated template database that every test file clones (fast). The template's
// name carries a hash of sql/, so a changed migration makes a new one, and concurrent runs share
// it instead of dropping it under each other. Databases left by runs killed over two hours ago
// are dropped; a live concurrent run's databases are left alone. A template of other migrations
// is dropped only once it is two hours old: a concurrent run of another checkout may be using it.
const staleAfterMs = 2 * 3600 * 1000;

export default async function setup(): Promise<void> {
  const folder = migrationsFolder();
  const hash = createHash("sha256");
  for (const file of readdirSync(folder).sort()) hash.update(file).update(readFileSync(`${folder}/${file}`));
  const digest = hash.digest("hex").slice(0, 12);

  await Promise.all([
    deleteStaleVhosts(staleAfterMs),
    deleteStaleBrokerUsers(staleAfterMs),
    dropStaleLoginRoles(staleAfterMs),
  ]);
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE $1",
      [`${testDatabasePrefix}%`],
    );
    const names = rows.map((r) => r.datname);
    // bft_<birth ms>_tpl_<hash of sql/>: the birth time lets another checkout's run age it out
    const template =
      names.find((name) => name.endsWith(`_tpl_${digest}`)) ??
      `${testDatabasePrefix}${Date.now()}_tpl_${digest}`;
    process.env.BFT_TEMPLATE_DATABASE = template;
    for (const name of names) {
      const born = /_(\d{13})_/.exec(name)?.[1];
      const old = born !== undefined && Date.now() - Number(born) > staleAfterMs;
      // ours is kept whatever its age; another is dropped when old, or when it has no birth time
      // (a template named before birth times were in the name)
      const otherTemplate = name.includes("_tpl_") && name !== template && !name.includes("_tpl_build_");
      if (name !== template && (old || (otherTemplate && born === undefined))) {
        await admin
          .query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)
          .catch(() => undefined);
      }
    }
    if (names.includes(template)) return;
    const building = `${testDatabasePrefix}${Date.now()}_tpl_build_${process.pid}`;
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(building)}`);
    const db = new Kysely<unknown>({
      dialect: new PostgresDialect({
        pool: new pg.Pool({ connectionString: databaseUrl(building), max: 1 }),
      }),
    });
    try {
      await migrateUp(db);
    } finally {
      await db.destroy();
    }
    try {
      await admin.query(
        `ALTER DATABASE ${pg.escapeIdentifier(building)} RENAME TO ${pg.escapeIdentifier(template)}`,
      );
    } catch (error) {
      // A concurrent run built it first: use theirs.
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(building)}`);
      if ((error as { code?: string }).code !== "42P04") throw error;
    }
  } finally {
    await admin.end();
  }
}
