import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDown, migrateUp, parseMigration, pendingMigrations } from "../../lib/db/migrator.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let empty: TestDatabase;
let db: Kysely<unknown>;

beforeAll(async () => {
  empty = await createTestDatabase({ migrated: false });
  const pool = new pg.Pool({ connectionString: empty.url, max: 1 });
  pool.on("error", () => {}); // an idle client dropped with the database is not a test failure
  db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
});
afterAll(async () => {
  await db.destroy();
  await empty.drop();
});

async function billingTables(): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables WHERE table_schema = 'billing' ORDER BY table_name`.execute(
    db,
  );
  return rows.map((r) => r.table_name);
}

describe("migrations", () => {
  // Rollback must work step by step to an empty database, and re-applying must be a no-op.
  it("go up, down step by step to empty, up again, and a second up changes nothing", async () => {
    const applied = await migrateUp(db);
    expect(applied.length).toBeGreaterThan(0);
    expect(await billingTables()).toContain("accounts");
    expect(await pendingMigrations(db)).toEqual([]);

    for (let i = 0; i < applied.length; i += 1) {
      expect(await migrateDown(db)).toHaveLength(1);
    }
    expect(await migrateDown(db)).toEqual([]);
    expect(await billingTables()).toEqual([]);

    expect(await migrateUp(db)).toEqual(applied);
    expect(await migrateUp(db)).toEqual([]);
  });

  it("refuse a file without both steps", () => {
    expect(() => parseMigration("0009_x.sql", "CREATE TABLE x ();")).toThrow(/-- up/);
    expect(() => parseMigration("0009_x.sql", "-- up\nCREATE TABLE x ();\n-- down\n")).toThrow(/both/);
    expect(parseMigration("0009_x.sql", "-- up\nA;\n-- down\nB;")).toEqual({ up: "A;", down: "B;" });
  });
});
