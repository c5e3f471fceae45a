import { randomBytes } from "node:crypto";
import pg from "pg";
import { createDb, type Db } from "../../lib/db/database.ts";
import { databaseUrl, pgAdminUrl, testDatabasePrefix } from "./services.ts";

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** A pool on the billing schema of this database. */
  readonly db: Db;
  drop(): Promise<void>;
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

/** A new database, migrated (cloned from the template), for one test file. */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  // The creation time in the name lets a later run drop what a killed run left behind.
  const name = `${testDatabasePrefix}${Date.now()}_${randomBytes(4).toString("hex")}`;
  const template = options.migrated === false ? "template0" : process.env.BFT_TEMPLATE_DATABASE;
  if (template === undefined)
    throw new Error("no template database: run the tests through vitest (globalSetup)");
  await admin((c) =>
    c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(template)}`),
  );
  const url = databaseUrl(name);
  const db = createDb({ url, poolSize: 10, applicationName: "billing-test" });
  return {
    name,
    url,
    db,
    async drop() {
      await db.destroy();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
    },
  };
}
