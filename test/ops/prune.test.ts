import { createHash } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { insertDeadLetter } from "./dead-letter-fixtures.ts";
import { runOps } from "./run-cli.ts";

// Retention deletes old inbox, audit and published outbox rows, and never what idempotency
// still needs: nothing under 3 days, no command, no unpublished outbox row, no row of a message
// with a parked dead letter.

let database: TestDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  env = { DATABASE_URL: database.url };
});
afterAll(() => database.drop());

async function seed(prefix: string, daysOld: number, count: number): Promise<void> {
  const at = sql`now() - ${daysOld} * interval '1 day'`;
  for (let i = 0; i < count; i += 1) {
    const id = `${prefix}_${daysOld}d_${i}`;
    await sql`INSERT INTO billing.processed_messages (message_id, processed_at) VALUES (${`stripe:${id}`}, ${at})`.execute(
      database.db,
    );
    await sql`INSERT INTO billing.stripe_events (event_id, type, event_created, payload, received_at)
      VALUES (${id}, 'customer.created', 1, '{}', ${at})`.execute(database.db);
    await sql`INSERT INTO billing.outbox (event_id, type, correlation_id, payload, created_at, published_at)
      VALUES (${`${id}:published`}, 't', ${id}, '{}', ${at}, ${at}),
             (${`${id}:pending`}, 't', ${id}, '{}', ${at}, NULL)`.execute(database.db);
    await sql`INSERT INTO billing.commands (command_id, type, status, request_hash, created_at, updated_at)
      VALUES (${id}, 'balance.charge', 'succeeded', 'h', ${at}, ${at})`.execute(database.db);
  }
}

type Remaining = Record<"processed_messages" | "stripe_events" | "outbox" | "commands", string[]>;

async function remaining(): Promise<Remaining> {
  const ids = async (table: string, column: string) =>
    (
      await sql<{
        id: string;
      }>`SELECT ${sql.ref(column)} AS id FROM ${sql.table(`billing.${table}`)} ORDER BY 1`.execute(
        database.db,
      )
    ).rows.map((r) => r.id);
  return {
    processed_messages: await ids("processed_messages", "message_id"),
    stripe_events: await ids("stripe_events", "event_id"),
    outbox: await ids("outbox", "event_id"),
    commands: await ids("commands", "command_id"),
  };
}

describe("prune", () => {
  it("refuses a window under 3 days and a missing one (exit 2, one line)", async () => {
    for (const [args, message] of [
      [["--older-than", "2d"], /--older-than 2d is under 3d: Stripe retries webhooks for up to 3 days/],
      [["--older-than", "71h"], /--older-than 71h is under 3d/],
      [[], /needs --older-than DURATION/],
      [["--older-than", "90d", "--batch", "0"], /--batch must be a whole number/],
    ] as const) {
      const run = await runOps(["prune", ...args], env);
      expect(run.code).toBe(2);
      expect(run.err.trim().split("\n")).toHaveLength(1);
      expect(run.err).toMatch(message);
    }
  });

  it("deletes in batches only what the rule allows", async () => {
    await seed("old", 100, 5);
    await seed("mid", 10, 3);
    await seed("new", 1, 2);
    // A message with a parked dead letter keeps its rows; a replayed one does not. The inbox keys
    // a command by id and body: a parked command keeps exactly that row.
    await insertDeadLetter(database.db, { messageId: "old_100d_0" });
    const commandBody = '{"id":"cmd_parked","type":"balance.charge"}';
    await insertDeadLetter(database.db, {
      messageId: "cmd_parked",
      type: "balance.charge",
      routingKey: "command.balance.charge",
      body: commandBody,
    });
    const commandKey = `command:cmd_parked:${createHash("sha256").update(commandBody).digest("hex")}`;
    await sql`INSERT INTO billing.processed_messages (message_id, processed_at)
      VALUES (${commandKey}, now() - interval '100 days'), ('command:cmd_parked:other-body', now() - interval '100 days')`.execute(
      database.db,
    );
    const replayed = await insertDeadLetter(database.db, { messageId: "old_100d_1" });
    await database.db
      .updateTable("dead_letters")
      .set({ status: "replayed" })
      .where("id", "=", replayed)
      .execute();
    const before = await remaining();

    const dry = await runOps(["prune", "--older-than", "90d", "--dry-run", "--json"], env);
    expect(dry.code).toBe(0);
    expect(dry.json()).toMatchObject({
      dryRun: true,
      deleted: { processed_messages: 5, stripe_events: 4, outbox: 5 },
    });
    expect(await remaining()).toEqual(before);

    const run = await runOps(["prune", "--older-than", "90d", "--batch", "2", "--json"], env);
    expect(run.code, run.err).toBe(0);
    expect(run.json()).toMatchObject({
      dryRun: false,
      olderThan: "90d",
      deleted: { processed_messages: 5, stripe_events: 4, outbox: 5 },
    });
    const after = await remaining();
    const old = (rows: string[]) => rows.filter((id) => id.startsWith("old_"));
    expect(after.processed_messages.filter((id) => id.includes("old_") || id.startsWith("command:"))).toEqual(
      [commandKey, "stripe:old_100d_0"],
    );
    expect(old(after.stripe_events)).toEqual(["old_100d_0"]);
    expect(old(after.outbox)).toEqual([0, 1, 2, 3, 4].map((i) => `old_100d_${i}:pending`));
    expect(after.commands).toEqual(before.commands);

    const human = await runOps(["prune", "--older-than", "3d"], env);
    expect(human.code).toBe(0);
    expect(human.out).toContain("processed_messages: deleted 3");
    expect(human.out).toContain("kept: billing.commands (idempotency records)");
    const final = await remaining();
    expect(final.processed_messages).toEqual([
      commandKey,
      "stripe:new_1d_0",
      "stripe:new_1d_1",
      "stripe:old_100d_0",
    ]);
    expect(final.outbox.filter((id) => id.endsWith(":published"))).toEqual([
      "new_1d_0:published",
      "new_1d_1:published",
    ]);
    expect(final.commands).toEqual(before.commands);
  });
});
