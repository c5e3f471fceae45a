import pg from "pg";
import { withDatabase } from "./service-urls.ts";

/** Drops and creates the named database (its own, never the billing one); returns its URL. */
export async function recreateDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({
    connectionString: withDatabase(serverUrl, "postgres"),
    connectionTimeoutMillis: 5000,
  });
  admin.on("error", () => {});
  await admin.connect();
  try {
    // FORCE ends the sessions a killed earlier run may have left behind.
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  return withDatabase(serverUrl, name);
}

/** The PostgreSQL server's version string, e.g. "15.20". */
export async function postgresVersion(serverUrl: string): Promise<string> {
  const client = new pg.Client({
    connectionString: withDatabase(serverUrl, "postgres"),
    connectionTimeoutMillis: 5000,
  });
  client.on("error", () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
    return rows[0]?.server_version.split(" ")[0] ?? "unknown";
  } finally {
    await client.end();
  }
}
