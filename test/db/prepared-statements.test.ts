import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyDbError } from "../../lib/db/classify-error.ts";
import { createDb } from "../../lib/db/database.ts";
import { type PreparedLimits, preparingPool } from "../../lib/db/prepared-statements.ts";
import { TransientError } from "../../lib/domain/errors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

// Repeated statements are prepared once per connection: the second sighting of a text names it,
// the names are bounded, and a plan a migration made stale drops its connection and is retried.

let database: TestDatabase;
const opened: Array<{ destroy(): Promise<void> }> = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(opened.map((db) => db.destroy()));
  await database?.drop();
});

// One connection, so every statement runs in the session whose prepared statements are read.
function oneConnection(limits?: PreparedLimits): Kysely<Record<string, never>> {
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  const db = new Kysely<Record<string, never>>({
    dialect: new PostgresDialect({ pool: preparingPool(pool, limits) }),
  });
  opened.push(db);
  return db;
}

const prepared = async (db: Kysely<Record<string, never>>) => {
  const { rows } = await sql<{ statement: string }>`
    SELECT statement FROM pg_prepared_statements ORDER BY prepare_time`.execute(db);
  return rows.map((row) => row.statement);
};

const byNumber = (db: Kysely<Record<string, never>>, n: number) =>
  sql<{ n: number }>`SELECT ${n}::int AS n`.execute(db);
const byText = (db: Kysely<Record<string, never>>, text: string) =>
  sql<{ t: string }>`SELECT ${text}::text AS t`.execute(db);

describe("preparingPool", () => {
  it("prepares a parameterised statement the second time it runs, and keeps answering the same", async () => {
    const db = oneConnection();
    expect((await byNumber(db, 1)).rows).toEqual([{ n: 1 }]);
    expect(await prepared(db)).toEqual([]);
    expect((await byNumber(db, 2)).rows).toEqual([{ n: 2 }]);
    expect(await prepared(db)).toEqual(["SELECT $1::int AS n"]);
    expect((await byNumber(db, 3)).rows).toEqual([{ n: 3 }]);
    expect(await prepared(db)).toHaveLength(1);
  });

  it("prepares no more texts than maxNames, and forgets single sightings past maxSightings", async () => {
    const db = oneConnection({ maxNames: 1, maxSightings: 1 });
    await byNumber(db, 1);
    await byText(db, "a"); // a second text seen once: the sightings start over
    await byNumber(db, 2); // seen once again, not twice
    expect(await prepared(db)).toEqual([]);
    await byNumber(db, 3);
    expect(await prepared(db)).toEqual(["SELECT $1::int AS n"]);
    await byText(db, "b");
    await byText(db, "c");
    expect(await prepared(db)).toEqual(["SELECT $1::int AS n"]);
  });

  it("drops a connection whose prepared plan a migration made stale; the retry runs on a new one", async () => {
    await sql`CREATE TABLE billing.prepared_probe (id int PRIMARY KEY)`.execute(database.db);
    await sql`INSERT INTO billing.prepared_probe VALUES (1)`.execute(database.db);
    const db = oneConnection();
    const read = () => sql`SELECT * FROM billing.prepared_probe WHERE id = ${1}`.execute(db);
    const backend = async () =>
      (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]?.pid;
    await read();
    await read(); // prepared now
    const before = await backend();
    await sql`ALTER TABLE billing.prepared_probe ADD COLUMN note text`.execute(database.db);
    const error = await read().then(
      () => undefined,
      (e: unknown) => e,
    );
    const classified = classifyDbError(error);
    expect(classified).toBeInstanceOf(TransientError);
    expect((classified as TransientError).code).toBe("serialization_failure");
    expect((await read()).rows).toEqual([{ id: 1, note: null }]);
    expect(await backend()).not.toBe(before);
  });

  it("is what createDb's pool does", async () => {
    const db = createDb({ url: database.url, poolSize: 1 });
    opened.push(db);
    for (const n of [1, 2]) await sql`SELECT ${n}::int AS n`.execute(db);
    const { rows } = await sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`.execute(
      db,
    );
    expect(rows.map((row) => row.statement)).toEqual(["SELECT $1::int AS n"]);
  });

  it("keeps the server options the database URL gives", async () => {
    const url = new URL(database.url);
    url.searchParams.set("options", "-c statement_timeout=12345");
    const db = createDb({ url: url.toString(), poolSize: 1 });
    opened.push(db);
    const timeout = await sql<{ statement_timeout: string }>`SHOW statement_timeout`.execute(db);
    expect(timeout.rows[0]?.statement_timeout).toBe("12345ms");
    const mode = await sql<{ plan_cache_mode: string }>`SHOW plan_cache_mode`.execute(db);
    expect(mode.rows[0]?.plan_cache_mode).toBe("force_custom_plan");
  });
});
