import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { migrateUp } from "../../lib/db/migrator.ts";
import { databaseUrl, pgAdminUrl, templateDatabase, testDatabasePrefix } from "./services.ts";

// Once per run: a freshly migrated template database that every test file clones (fast), and no
// leftovers from an interrupted earlier run.
export default async function setup(): Promise<void> {
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  try {
    const stale = await admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE $1",
      [`${testDatabasePrefix}%`],
    );
    for (const { datname } of stale.rows) {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
    }
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(templateDatabase)}`);
  } finally {
    await admin.end();
  }
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({
      pool: new pg.Pool({ connectionString: databaseUrl(templateDatabase), max: 1 }),
    }),
  });
  try {
    await migrateUp(db);
  } finally {
    await db.destroy();
  }
}
