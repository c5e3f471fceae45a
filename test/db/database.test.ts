import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDb, pingDb } from "../../lib/db/database.ts";
import { ensureDatabase } from "../../lib/db/ensure-database.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { databaseUrl, pgAdminUrl } from "../helpers/services.ts";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

// Money is bigint in Postgres: it must come back as an exact number, never a string or a rounded float.
it("reads bigint as exact numbers and refuses values beyond the safe range", async () => {
  await t.db.insertInto("accounts").values({ account_id: "a", currency: "usd" }).execute();
  await t.db.updateTable("accounts").set({ balance: 9007199254740991 }).execute();
  const row = await t.db.selectFrom("accounts").select("balance").executeTakeFirstOrThrow();
  expect(row.balance).toBe(9007199254740991);
  await expect(
    t.db.selectNoFrom((eb) => eb.cast<number>(eb.val("9007199254740993"), "bigint").as("x")).execute(),
  ).rejects.toThrow(/safe integer/);
  expect(await pingDb(t.db)).toBe(true);
});

it("pingDb is false when the database is unreachable", async () => {
  const db = createDb({ url: "postgres://root@127.0.0.1:1/nothing", poolSize: 1 });
  expect(await pingDb(db)).toBe(false);
  await db.destroy();
});

// release creates the database of DATABASE_URL when it is missing, and only then.
it("ensureDatabase creates a missing database once", async () => {
  const name = `${t.name}_ensure`;
  expect(await ensureDatabase(databaseUrl(name))).toBe(true);
  expect(await ensureDatabase(databaseUrl(name))).toBe(false);
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE ${pg.escapeIdentifier(name)}`);
  await admin.end();
});
