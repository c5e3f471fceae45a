import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeParts } from "../../lib/db/write-parts.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

// Several writes as one statement: every part is applied, each check sees its own part's rows,
// and a check that throws leaves nothing behind once its transaction rolls back.

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const insertKeys = (name: string, keys: readonly string[]) =>
  [
    name,
    sql`INSERT INTO billing.processed_messages (message_id) SELECT unnest(${keys}::text[])
        ON CONFLICT (message_id) DO NOTHING RETURNING message_id`,
  ] as const;

const held = async (keys: readonly string[]) => {
  const { rows } = await sql<{ message_id: string }>`
    SELECT message_id FROM billing.processed_messages WHERE message_id = ANY(${keys}::text[])
    ORDER BY message_id`.execute(database.db);
  return rows.map((row) => row.message_id);
};

describe("writeParts", () => {
  it("applies every part in one statement and hands each check its own rows", async () => {
    const seen: string[][] = [];
    await database.db.transaction().execute((trx) =>
      writeParts(trx, [
        {
          ctes: [insertKeys("first", ["wp:a", "wp:b"])],
          check: (rows) => seen.push(rows.map((row) => String(row.message_id)).sort()),
        },
        undefined,
        { ctes: [insertKeys("second", ["wp:c"])] },
        {
          ctes: [insertKeys("third", ["wp:d"])],
          check: (rows) => seen.push(rows.map((row) => String(row.message_id))),
        },
      ]),
    );
    expect(seen).toEqual([["wp:a", "wp:b"], ["wp:d"]]);
    expect(await held(["wp:a", "wp:b", "wp:c", "wp:d"])).toEqual(["wp:a", "wp:b", "wp:c", "wp:d"]);
  });

  it("fails the transaction when a check throws, and nothing of any part stays", async () => {
    const write = database.db.transaction().execute((trx) =>
      writeParts(trx, [
        { ctes: [insertKeys("kept", ["wp:e"])] },
        {
          ctes: [insertKeys("checked", ["wp:f"])],
          check: () => {
            throw new Error("the plan was stale");
          },
        },
      ]),
    );
    await expect(write).rejects.toThrow("the plan was stale");
    expect(await held(["wp:e", "wp:f"])).toEqual([]);
  });

  it("refuses two parts with one CTE name", async () => {
    const write = database.db
      .transaction()
      .execute((trx) =>
        writeParts(trx, [{ ctes: [insertKeys("same", ["wp:g"])] }, { ctes: [insertKeys("same", ["wp:h"])] }]),
      );
    await expect(write).rejects.toThrow(/repeat a CTE name/);
    expect(await held(["wp:g", "wp:h"])).toEqual([]);
  });

  it("sends nothing when no part has anything to write", async () => {
    await database.db.transaction().execute((trx) => writeParts(trx, [undefined, { ctes: [] }]));
  });
});
