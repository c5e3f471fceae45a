import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { databaseColumns } from "../../lib/db/schema/database.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

// The Kysely Database type and the migrated schema cannot drift: the column descriptions are
// forced to match the types at compile time and compared with the database here.
it("every table and column of the Database type matches the migrated schema", async () => {
  const { rows } = await sql<{
    table_name: string;
    column_name: string;
    data_type: string;
    is_nullable: string;
  }>`
    SELECT table_name, column_name, data_type, is_nullable
    FROM information_schema.columns WHERE table_schema = 'billing'
    ORDER BY table_name, column_name`.execute(t.db);
  const actual: Record<string, Record<string, { type: string; nullable: boolean }>> = {};
  for (const row of rows) {
    const table = actual[row.table_name] ?? {};
    actual[row.table_name] = table;
    table[row.column_name] = { type: row.data_type, nullable: row.is_nullable === "YES" };
  }
  const expected: Record<string, Record<string, { type: string; nullable: boolean }>> = {};
  for (const [table, columns] of Object.entries(databaseColumns)) {
    expected[table] = Object.fromEntries(
      Object.entries(columns)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, spec]) => [name, { type: spec.type, nullable: spec.nullable }]),
    );
  }
  // Reporting views are not tables of the Database type.
  const { rows: views } = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.views WHERE table_schema = 'billing'`.execute(t.db);
  for (const view of views) delete actual[view.table_name];
  expect(actual).toEqual(expected);
});
