import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { defaults } from "../../lib/config.ts";
import { listAudit } from "../../lib/ops/audit-log.ts";
import { groupDeadLetters } from "../../lib/ops/dead-letter-groups.ts";
import { purgeLetters } from "../../lib/ops/dead-letter-purge.ts";
import { replayLetters } from "../../lib/ops/dead-letter-replay.ts";
import { planLetters } from "../../lib/ops/letter-plan.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { insertDeadLetter } from "./dead-letter-fixtures.ts";
import { drainQueue } from "./queue-reader.ts";
import { runOps } from "./run-cli.ts";

// The operations both faces share: every replay and purge is in billing.ops_audit with who did
// it, through which face, what was selected, how many it changed and why.

const services = useTestServices();
let env: Record<string, string>;

beforeAll(async () => {
  await declareTopologyOnce(services.vhost.url, defaults.RETRY_DELAYS_MS.split(",").map(Number));
  env = { DATABASE_URL: services.database.url, AMQP_URL: services.vhost.url };
});
beforeEach(async () => {
  await services.database.db.deleteFrom("dead_letters").execute();
  await services.database.db.deleteFrom("ops_audit").execute();
  await drainQueue(services.vhost.url, "billing_queue");
});

const statuses = async () =>
  Object.fromEntries(
    (await services.database.db.selectFrom("dead_letters").select(["id", "status"]).execute()).map((r) => [
      r.id,
      r.status,
    ]),
  );

describe("billing-ops writes the audit", () => {
  it("records a replay and a purge with --by, the selection, the count and the reason", async () => {
    const a = await insertDeadLetter(services.database.db, { type: "t.a", error: "cause" });
    const b = await insertDeadLetter(services.database.db, { type: "t.b", error: "cause" });
    const replay = await runOps(
      ["dlq", "replay", "--type", "t.a", "--by", "alice", "--reason", "fixed"],
      env,
    );
    expect(replay.code, replay.err).toBe(0);
    const purge = await runOps(["dlq", "purge", "--id", String(b), "--yes", "--by", "bob"], env);
    expect(purge.code, purge.err).toBe(0);
    // A dry run changes nothing, so it is not an action.
    await runOps(["dlq", "replay", "--all", "--dry-run"], env);

    const [purged, replayed, ...more] = await listAudit(services.database.db, 10);
    expect(more).toEqual([]);
    expect(replayed).toMatchObject({
      actor: "alice",
      via: "cli",
      action: "replay",
      filter: { filter: { type: "t.a" } },
      count: 1,
      reason: "fixed",
      outcome: { replayed: [a], skipped: [], failed: null, interrupted: false },
    });
    expect(purged).toMatchObject({
      actor: "bob",
      via: "cli",
      action: "purge",
      filter: { ids: [b] },
      count: 1,
      reason: null,
      outcome: { purged: [b], notPurged: [] },
    });
    expect(Date.parse(replayed?.actedAt ?? "")).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe("selections", () => {
  // A group is exact: same type (or none), same kind, same error text, nothing broader.
  it("a group takes exactly its letters, including the group without a type", async () => {
    const db = services.database.db;
    const x1 = await insertDeadLetter(db, { type: "t.x", error: "boom" });
    const x2 = await insertDeadLetter(db, { type: "t.x", error: "boom" });
    const wider = await insertDeadLetter(db, { type: "t.x", error: "boom and more" });
    const untyped = await insertDeadLetter(db, { type: null, routingKey: "stripe.q", error: "boom" });
    const groups = await groupDeadLetters(db);
    expect(groups.map((g) => [g.type, g.error, g.count])).toEqual(
      expect.arrayContaining([
        ["t.x", "boom", 2],
        ["t.x", "boom and more", 1],
        [null, "boom", 1],
      ]),
    );
    const plan = await planLetters(db, {
      selection: { kind: "group", type: "t.x", errorKind: "permanent", error: "boom" },
    });
    expect(plan.candidates.map((c) => c.id)).toEqual([x1, x2]);
    expect(plan.upToId).toBe(x2);
    const none = await planLetters(db, {
      selection: { kind: "group", type: null, errorKind: "permanent", error: "boom" },
    });
    expect(none.candidates.map((c) => c.id)).toEqual([untyped]);
    expect((await groupDeadLetters(db, { type: "t.x", errorText: "MORE" })).map((g) => g.count)).toEqual([1]);
    expect((await statuses())[wider]).toBe("parked");
  });

  // What a dry run showed is all a confirm may take: a letter parked after it is left alone.
  it("a bounded purge leaves letters parked after the dry run, and records the reason atomically", async () => {
    const db = services.database.db;
    const shown = await insertDeadLetter(db, { type: "t.y", error: "bad" });
    const plan = await planLetters(db, { selection: { kind: "filter", filter: { type: "t.y" } } });
    const later = await insertDeadLetter(db, { type: "t.y", error: "bad" });
    const outcome = await purgeLetters(
      db,
      { selection: { kind: "filter", filter: { type: "t.y" } }, upToId: plan.upToId },
      { actor: { name: "carol", via: "console" }, reason: "test events" },
    );
    expect(outcome.purged).toEqual([shown]);
    expect(await statuses()).toEqual({ [shown]: "purged", [later]: "parked" });
    const [entry] = await listAudit(db, 1);
    expect(entry).toMatchObject({
      id: outcome.auditId,
      actor: "carol",
      via: "console",
      action: "purge",
      count: 1,
      reason: "test events",
      filter: { filter: { type: "t.y" }, upToId: shown },
    });
  });

  it("an empty id list takes nothing, and a replay of nothing is still recorded", async () => {
    const db = services.database.db;
    const id = await insertDeadLetter(db);
    expect((await planLetters(db, { selection: { kind: "ids", ids: [] } })).candidates).toEqual([]);
    const outcome = await replayLetters(
      { db, amqpUrl: services.vhost.url, amqpUser: "guest", confirmTimeoutMs: 5000 },
      { selection: { kind: "ids", ids: [] } },
      { actor: { name: "dave", via: "console" } },
    );
    expect(outcome).toMatchObject({ candidates: 0, replayed: [] });
    expect(await statuses()).toEqual({ [id]: "parked" });
    expect(await listAudit(db, 5)).toMatchObject([{ actor: "dave", action: "replay", count: 0 }]);
  });
});
