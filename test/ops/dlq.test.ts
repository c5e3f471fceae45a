import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { defaults } from "../../lib/config.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { insertDeadLetter } from "./dead-letter-fixtures.ts";
import { drainQueue } from "./queue-reader.ts";
import { runOps } from "./run-cli.ts";

let database: TestDatabase;
let vhost: TestVhost;
let env: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  vhost = testVhost();
  await vhost.create();
  await declareTopologyOnce(vhost.url, defaults.RETRY_DELAYS_MS.split(",").map(Number));
  env = { DATABASE_URL: database.url, AMQP_URL: vhost.url };
});
afterAll(async () => {
  await database.drop();
  await vhost.delete();
});
beforeEach(async () => {
  await database.db.deleteFrom("dead_letters").execute();
  await drainQueue(vhost.url, "billing_queue");
});

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
const statusOf = async (id: number) =>
  await database.db.selectFrom("dead_letters").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

describe("dlq stats", () => {
  // Ops see one line per cause, largest first, with when it started and when it last happened.
  it("groups parked letters by type and error with counts and first/last failure", async () => {
    for (const m of [30, 20, 10])
      await insertDeadLetter(database.db, { type: "a.b", error: "boom", failedAt: minutesAgo(m) });
    await insertDeadLetter(database.db, { type: "a.b", error: "other", failedAt: minutesAgo(5) });
    await insertDeadLetter(database.db, {
      type: null,
      routingKey: "stripe.x",
      error: "boom",
      failedAt: minutesAgo(1),
    });
    const purged = await insertDeadLetter(database.db, { type: "a.b", error: "boom" });
    await database.db
      .updateTable("dead_letters")
      .set({ status: "purged" })
      .where("id", "=", purged)
      .execute();

    const run = await runOps(["dlq", "stats", "--json"], env);
    expect(run.code).toBe(0);
    const { total, groups } = run.json<{ total: number; groups: Record<string, unknown>[] }>();
    expect(total).toBe(5);
    expect(groups).toHaveLength(3);
    expect(groups[0]).toMatchObject({ type: "a.b", error: "boom", errorKind: "permanent", count: 3 });
    expect(new Date(String(groups[0]?.firstFailedAt)).getTime()).toBeLessThan(
      new Date(String(groups[0]?.lastFailedAt)).getTime(),
    );
    expect(groups.map((g) => g.type)).toContain(null);

    const human = await runOps(["dlq", "stats"], env);
    expect(human.out).toMatch(/^5 parked dead letters in 3 groups/);
    expect(human.out).toMatch(/\n3 +\S+ +\S+ +a\.b +permanent +boom/);
  });

  it("says so when nothing is parked", async () => {
    const run = await runOps(["dlq", "stats"], env);
    expect(run.code).toBe(0);
    expect(run.out).toBe("no parked dead letters\n");
  });
});

describe("dlq list", () => {
  // Filtering must narrow exactly: type exact, error substring (any case, % and _ literal), age.
  it("lists parked letters newest first, filtered by type, error text, age and limit", async () => {
    const old = await insertDeadLetter(database.db, {
      type: "x.y",
      error: "Rate 100% exceeded",
      failedAt: minutesAgo(120),
    });
    const mid = await insertDeadLetter(database.db, {
      type: "x.y",
      error: "unknown account acc_9",
      failedAt: minutesAgo(30),
    });
    const recent = await insertDeadLetter(database.db, {
      type: "z.z",
      error: "UNKNOWN ACCOUNT acc_1",
      failedAt: minutesAgo(1),
    });
    const ids = async (...args: string[]) => {
      const run = await runOps(["dlq", "list", "--json", ...args], env);
      expect(run.code, run.err).toBe(0);
      return run.json<{ letters: { id: number }[] }>().letters.map((l) => l.id);
    };
    expect(await ids()).toEqual([recent, mid, old]);
    expect(await ids("--type", "x.y")).toEqual([mid, old]);
    expect(await ids("--error", "unknown account")).toEqual([recent, mid]);
    expect(await ids("--error", "100%")).toEqual([old]);
    expect(await ids("--error", "0%")).toEqual([old]);
    expect(await ids("--error", "a_c")).toEqual([]);
    expect(await ids("--since", "1h")).toEqual([recent, mid]);
    expect(await ids("--limit", "1")).toEqual([recent]);
    expect(await ids("--type", "x.y", "--since", "1h")).toEqual([mid]);

    const human = await runOps(["dlq", "list"], env);
    expect(human.out.split("\n")[0]).toMatch(/^ID +FAILED AT +TYPE +MESSAGE ID +KIND +ATTEMPTS +ERROR$/);
    expect(human.out.split("\n")[1]).toMatch(new RegExp(`^${recent} `));
  });

  it.each([
    [["--limit", "0"], /--limit must be a whole number from 1/],
    [["--since", "3 days"], /--since: "3 days" is not a duration/],
    [["--bogus"], /Unknown option '--bogus'/],
    [["extra"], /unexpected argument "extra"/],
  ])("refuses %j with one line and exit 2", async (args, message) => {
    const run = await runOps(["dlq", "list", ...args], env);
    expect(run.code).toBe(2);
    expect(run.out).toBe("");
    expect(run.err.trim().split("\n")).toHaveLength(1);
    expect(run.err).toMatch(message);
  });
});

describe("dlq show", () => {
  // An operator reads the whole letter: headers, attempts, error and the body as text.
  it("shows a letter whole, with a pretty JSON body", async () => {
    const id = await insertDeadLetter(database.db, {
      messageId: "evt_show",
      body: '{"id":"evt_show","data":{"object":{"amount":5}}}',
      error: "missing amount",
      attempts: 3,
      errorKind: "exhausted",
    });
    const run = await runOps(["dlq", "show", String(id)], env);
    expect(run.code).toBe(0);
    expect(run.out).toContain(`dead letter ${id} (parked)`);
    expect(run.out).toContain("error:        [exhausted] missing amount");
    expect(run.out).toContain("attempts:     3");
    expect(run.out).toContain('"x-error-kind": "exhausted"');
    expect(run.out).toContain('body (json, 48 bytes):\n  {\n    "id": "evt_show",');

    const json = (await runOps(["dlq", "show", String(id), "--json"], env)).json<{
      body: { base64: string };
    }>();
    expect(json).toMatchObject({ id, status: "parked", messageId: "evt_show", attempts: 3 });
    expect(json.body).toMatchObject({
      kind: "json",
      json: { id: "evt_show", data: { object: { amount: 5 } } },
    });
    expect(Buffer.from(json.body.base64, "base64").toString()).toBe(
      '{"id":"evt_show","data":{"object":{"amount":5}}}',
    );
  });

  it("escapes a body that is not JSON, and bytes that are not UTF-8", async () => {
    const text = await insertDeadLetter(database.db, { body: "not json\u001b[31m red" });
    expect((await runOps(["dlq", "show", String(text)], env)).out).toContain(
      "body (text, 17 bytes):\n  not json\\u001b[31m red",
    );
    const binary = await insertDeadLetter(database.db, { body: Buffer.from([0x41, 0xff, 0x00]) });
    expect((await runOps(["dlq", "show", String(binary)], env)).out).toContain(
      "body (binary, 3 bytes):\n  A\\xff\\x00",
    );
  });

  it("fails with one line for an unknown id and exits 2 without one", async () => {
    const missing = await runOps(["dlq", "show", "999999"], env);
    expect(missing.code).toBe(1);
    expect(missing.out).toBe("no dead letter 999999\n");
    expect((await runOps(["dlq", "show"], env)).code).toBe(2);
    expect((await runOps(["dlq", "show", "abc"], env)).code).toBe(2);
  });
});

describe("dlq purge", () => {
  // Purging gives up on messages: it needs --yes, and the rows stay for audit.
  it("exits 2 without --yes and changes nothing", async () => {
    const id = await insertDeadLetter(database.db);
    for (const args of [["--all"], ["--id", String(id)]]) {
      const run = await runOps(["dlq", "purge", ...args], env);
      expect(run.code).toBe(2);
      expect(run.err.trim().split("\n")).toHaveLength(1);
      expect(run.err).toMatch(/--yes/);
    }
    expect((await statusOf(id)).status).toBe("parked");
  });

  it("marks letters purged with who and when, keeps the rows, and is harmless twice", async () => {
    const a = await insertDeadLetter(database.db);
    const b = await insertDeadLetter(database.db);
    const run = await runOps(["dlq", "purge", "--id", String(a), "--yes", "--by", "alice", "--json"], env);
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ by: "alice", purged: [a] });
    const row = await statusOf(a);
    expect(row).toMatchObject({ status: "purged", purged_by: "alice" });
    expect(row.purged_at).toBeInstanceOf(Date);
    expect((await runOps(["dlq", "purge", "--id", String(a), "--yes"], env)).code).toBe(0);
    expect((await runOps(["dlq", "stats", "--json"], env)).json()).toMatchObject({ total: 1 });

    const unknown = await runOps(["dlq", "purge", "--id", "424242", "--yes"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain("424242: not purged (no such dead letter)");

    const all = await runOps(["dlq", "purge", "--all", "--yes"], env);
    expect(all.code).toBe(0);
    expect((await statusOf(b)).status).toBe("purged");
    expect(await database.db.selectFrom("dead_letters").select("id").execute()).toHaveLength(2);
  });
});

describe("dlq replay", () => {
  // --dry-run lists what would go, and publishes and changes nothing.
  it("--dry-run changes nothing", async () => {
    const id = await insertDeadLetter(database.db);
    const before = await statusOf(id);
    const run = await runOps(["dlq", "replay", "--all", "--dry-run", "--json"], env);
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ dryRun: true, wouldReplay: [{ id }] });
    expect(await statusOf(id)).toEqual(before);
    expect(await drainQueue(vhost.url, "billing_queue")).toHaveLength(0);
  });

  // The replayed message is the original: same body bytes, routing key and properties; the
  // failure headers are gone and x-replayed-from names the letter. Marked only after the confirm.
  it("republishes the original message and marks the letter replayed by whom", async () => {
    const body = Buffer.from('{"id":"evt_r1","type":"invoice.paid","weird":"\\u00e9"}  ');
    const id = await insertDeadLetter(database.db, {
      messageId: "evt_r1",
      type: "invoice.paid",
      body,
      attempts: 5,
      errorKind: "exhausted",
      headers: { "x-source": "stripe", "x-routing-key": "stripe.invoice.paid", "x-death": [{ count: 1 }] },
      routingKey: "billing_queue",
      properties: { correlationId: "corr-1", userId: "someone-else" },
    });
    const dry = await runOps(["dlq", "replay", "--id", String(id), "--dry-run", "--json"], env);
    expect(dry.json()).toMatchObject({
      wouldReplay: [{ id, routingKey: "stripe.invoice.paid", messageId: "evt_r1" }],
    });
    const run = await runOps(["dlq", "replay", "--id", String(id), "--by", "bob", "--json"], env);
    expect(run.code, run.out + run.err).toBe(0);
    expect(run.json()).toMatchObject({ replayed: [id], skipped: [], failed: null, interrupted: false });

    const [message, ...more] = await drainQueue(vhost.url, "billing_queue");
    expect(more).toHaveLength(0);
    expect(message?.content.equals(body)).toBe(true);
    expect(message?.fields.exchange).toBe("billing");
    expect(message?.fields.routingKey).toBe("stripe.invoice.paid");
    expect(message?.properties).toMatchObject({
      messageId: "evt_r1",
      type: "invoice.paid",
      contentType: "application/json",
      deliveryMode: 2,
      correlationId: "corr-1",
    });
    // RabbitMQ adds x-delivery-count on delivery from a quorum queue; everything else is ours.
    const { "x-delivery-count": _count, ...headers } = message?.properties.headers ?? {};
    // user_id is the replaying user's (RabbitMQ refuses another); the first publisher is kept
    expect(headers).toEqual({
      "x-source": "stripe",
      "x-replayed-from": String(id),
      "x-original-user-id": "someone-else",
    });
    expect(message?.properties.userId).toBe("guest");
    expect(await statusOf(id)).toMatchObject({ status: "replayed", replayed_by: "bob" });
    expect((await statusOf(id)).replayed_at).toBeInstanceOf(Date);

    // The same letter again: nothing published, nothing re-marked.
    const again = await runOps(["dlq", "replay", "--id", String(id), "--json"], env);
    expect(again.code).toBe(0);
    expect(again.json()).toMatchObject({ replayed: [], skipped: [{ id, reason: "already replayed" }] });
    expect(await drainQueue(vhost.url, "billing_queue")).toHaveLength(0);
    expect(await statusOf(id)).toMatchObject({ replayed_by: "bob" });
  });

  it("replays a filtered group oldest first, leaving the others parked", async () => {
    const first = await insertDeadLetter(database.db, {
      type: "t.one",
      error: "cause A",
      failedAt: minutesAgo(9),
    });
    const second = await insertDeadLetter(database.db, {
      type: "t.one",
      error: "cause A",
      failedAt: minutesAgo(5),
    });
    const other = await insertDeadLetter(database.db, { type: "t.one", error: "cause B" });
    const run = await runOps(["dlq", "replay", "--type", "t.one", "--error", "cause a", "--json"], env);
    expect(run.json()).toMatchObject({ replayed: [first, second] });
    const messages = await drainQueue(vhost.url, "billing_queue");
    expect(messages.map((m) => m.properties.headers?.["x-replayed-from"])).toEqual([
      String(first),
      String(second),
    ]);
    expect((await statusOf(other)).status).toBe("parked");
  });

  it.each([
    [[], /choose what to replay/],
    [["--all", "--id", "1"], /choose what to replay/],
    [["--id", "x"], /"x" is not a dead-letter id/],
    [["--all", "--by", ""], /--by must name someone/],
  ])("refuses %j with exit 2", async (args, message) => {
    const run = await runOps(["dlq", "replay", ...args], env);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(message);
  });

  // A message the broker cannot route is not marked; the replay stops and says where.
  it("stops at an unroutable message, leaving it parked, and exits 1", async () => {
    const id = await insertDeadLetter(database.db, { routingKey: "nowhere.key", type: "nowhere" });
    const run = await runOps(["dlq", "replay", "--id", String(id)], env);
    expect(run.code).toBe(1);
    expect(run.out).toContain(`stopped at ${id}: unroutable`);
    expect((await statusOf(id)).status).toBe("parked");
  });

  it("exits 1 with one line when the broker cannot be reached, marking nothing", async () => {
    const id = await insertDeadLetter(database.db);
    const run = await runOps(["dlq", "replay", "--all"], { ...env, AMQP_URL: `${vhost.url}_missing` });
    expect(run.code).toBe(1);
    expect(run.err.trim().split("\n")).toHaveLength(1);
    expect(run.err).not.toMatch(/\n\s+at /);
    expect((await statusOf(id)).status).toBe("parked");
  });

  // Two operators replaying at once: every letter is published once and marked once.
  it("never double-publishes or double-marks under two concurrent replays", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 30; i += 1) ids.push(await insertDeadLetter(database.db));
    const [a, b] = await Promise.all([
      runOps(["dlq", "replay", "--all", "--by", "a", "--json"], env),
      runOps(["dlq", "replay", "--all", "--by", "b", "--json"], env),
    ]);
    const replayedA = a?.json<{ replayed: number[] }>().replayed ?? [];
    const replayedB = b?.json<{ replayed: number[] }>().replayed ?? [];
    expect([...replayedA, ...replayedB].sort((x, y) => x - y)).toEqual(ids);
    const messages = await drainQueue(vhost.url, "billing_queue");
    expect(messages).toHaveLength(30);
    expect(new Set(messages.map((m) => m.properties.headers?.["x-replayed-from"])).size).toBe(30);
    const rows = await database.db.selectFrom("dead_letters").select(["status", "replayed_by"]).execute();
    expect(rows.every((r) => r.status === "replayed")).toBe(true);
    expect(rows.filter((r) => r.replayed_by === "a")).toHaveLength(replayedA.length);
  });

  // Ctrl-C stops between messages: what was confirmed is marked, nothing is half-done.
  it("stops between messages on SIGINT without losing or double-marking", async () => {
    for (let i = 0; i < 10; i += 1) await insertDeadLetter(database.db);
    const controller = new AbortController();
    const run = await runOps(["dlq", "replay", "--all"], env, {
      signal: controller.signal,
      isTerminal: true,
      onErr: (text) => {
        if (text.includes("replaying: 2/10")) controller.abort();
      },
    });
    expect(run.code).toBe(1);
    expect(run.err).toContain("\r\u001b[Kreplaying: 1/10");
    expect(run.out).toContain("replayed 2 of 10");
    expect(run.out).toContain("interrupted: 8 left parked");
    const rows = await database.db.selectFrom("dead_letters").select("status").execute();
    expect(rows.filter((r) => r.status === "replayed")).toHaveLength(2);
    expect(await drainQueue(vhost.url, "billing_queue")).toHaveLength(2);
  });
});
