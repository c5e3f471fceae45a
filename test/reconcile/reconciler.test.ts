import { sql } from "kysely";
import type Stripe from "stripe";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { messagesDuplicate, reconcileRetentionGap, stripeRateLimited } from "../../lib/metrics/registry.ts";
import { type Fleet, startFleet } from "../commands/fleet-harness.ts";
import { testSecrets } from "../helpers/config.ts";
import { spawnScript } from "../helpers/spawn.ts";
import { waitFor } from "../helpers/wait.ts";
import { stripeClient } from "../stripe-emulator/helpers.ts";
import {
  capturingLogger,
  deposits,
  reconciledIds,
  type StartedReconciler,
  startTestReconciler,
} from "./helpers.ts";

// END-TO-END: the emulator loses webhooks (or answers the Events API badly), the real ingester and
// worker apply what arrives, and the reconciler (interval 1 s) heals the rest from GET /v1/events:
// every event applied exactly once, balances credited once, whatever arrived twice.
// Any number of reconcilers may run; one is active (the advisory lock). When the active one dies,
// or only loses the connection that holds its lock, another takes over within about an interval
// and the events lost meanwhile are still healed: the cursor is in Postgres, not in the process.

const activeLine = "holds the reconciler lock";

let fleet: Fleet;
let stripe: Stripe;
let running: StartedReconciler | undefined;

beforeAll(async () => {
  fleet = await startFleet({ workers: 1, web: true });
  stripe = stripeClient(fleet.emulator);
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  fleet.emulator.setDelivery({ dropRate: 0, delayMs: [0, 0] });
  fleet.emulator.setFaults({});
});
afterAll(() => fleet?.stop());

const appliedIds = async () =>
  new Set((await fleet.db.selectFrom("stripe_events").select("event_id").execute()).map((r) => r.event_id));
const allApplied = async () => {
  const applied = await appliedIds();
  return fleet.emulator.events().every((event) => applied.has(event.id));
};
const balanceOf = async (accountId: string) =>
  Number(
    (
      await fleet.db
        .selectFrom("accounts")
        .select("balance")
        .where("account_id", "=", accountId)
        .executeTakeFirst()
    )?.balance ?? 0,
  );
const credits = async (accountId: string) =>
  (
    await fleet.db
      .selectFrom("ledger_entries")
      .select("source_id")
      .where("account_id", "=", accountId)
      .where("kind", "=", "deposit_credit")
      .execute()
  ).length;
const metric = async (counter: { get(): Promise<{ values: Array<{ value: number }> }> }) =>
  (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);

/** Every event applied exactly once: one audit row and one inbox row per emulator event, no more. */
async function expectExactlyOnce(): Promise<void> {
  const events = fleet.emulator.events();
  const { rows } = await sql<{ audited: string; inbox: string }>`
    SELECT (SELECT count(*) FROM billing.stripe_events) AS audited,
           (SELECT count(*) FROM billing.processed_messages WHERE message_id LIKE 'stripe:%') AS inbox`.execute(
    fleet.db,
  );
  expect(Number(rows[0]?.audited)).toBe(events.length);
  expect(Number(rows[0]?.inbox)).toBe(events.length);
}

describe("the reconciler", () => {
  it("applies every dropped webhook within a few intervals, exactly once", async () => {
    fleet.emulator.setDelivery({ dropRate: 0.3, seed: 7 });
    running = await startTestReconciler(fleet);
    const amounts = Array.from({ length: 15 }, (_, i) => 100 + i);
    await deposits(stripe, "acct-drop", amounts);
    await fleet.emulator.deliverPending();
    const dropped = fleet.emulator.deliveries().filter((d) => d.state === "dropped");
    expect(dropped.length).toBeGreaterThan(3);
    const lostAt = Date.now();
    await waitFor(allApplied, "every event applied", 15_000);
    // the first pass runs at start, then every second: healed within a few intervals
    expect(Date.now() - lostAt).toBeLessThan(5000);
    // A pass records its outcome once it is done (the cursor written), which may be after the worker
    // applied what it enqueued: every dropped event was enqueued by a pass that succeeded.
    const reconciled = () => new Set(reconciledIds(running?.reconciler.outcomes() ?? []));
    await waitFor(() => dropped.every((d) => reconciled().has(d.eventId)), "the healing passes done", 10_000);
    expect(await balanceOf("acct-drop")).toBe(amounts.reduce((a, b) => a + b, 0));
    expect(await credits("acct-drop")).toBe(amounts.length);
    await expectExactlyOnce();
    const cursor = await fleet.db.selectFrom("reconcile_cursor").selectAll().executeTakeFirstOrThrow();
    expect(cursor).toMatchObject({ stream: "stripe-events", last_found_missing: expect.any(Number) });
    expect(cursor.cursor_created).toBe(Math.max(...fleet.emulator.events().map((e) => e.created)));
    expect(cursor.last_success_at?.getTime()).toBeGreaterThan(lostAt - 2000);
  });

  it("does not apply twice the events whose webhook arrives after the reconciler enqueued them", async () => {
    // Webhooks take 1.5–2.5 s: the reconciler (every 1 s) finds the events first and enqueues them.
    fleet.emulator.setDelivery({ delayMs: [1500, 2500], concurrency: 16 });
    running = await startTestReconciler(fleet);
    const duplicatesBefore = await metric(messagesDuplicate);
    const amounts = [500, 600, 700, 800];
    const before = new Set(fleet.emulator.events().map((e) => e.id));
    await deposits(stripe, "acct-late", amounts);
    const ours = fleet.emulator.events().filter((e) => !before.has(e.id));
    await waitFor(allApplied, "every event applied", 15_000);
    await fleet.emulator.deliverPending();
    const reconciled = reconciledIds(running.reconciler.outcomes()).filter((id) =>
      ours.some((e) => e.id === id),
    );
    expect(reconciled.length).toBeGreaterThan(0);
    // every webhook was delivered too, and the worker absorbed each second copy
    for (const event of ours) {
      expect(fleet.emulator.deliveries().find((d) => d.eventId === event.id)?.state).toBe("delivered");
    }
    await waitFor(
      async () => (await metric(messagesDuplicate)) - duplicatesBefore >= reconciled.length,
      "the second copies absorbed as duplicates",
      10_000,
    );
    expect(await balanceOf("acct-late")).toBe(2600);
    expect(await credits("acct-late")).toBe(amounts.length);
    await expectExactlyOnce();
  });

  it("is slowed by a 429 storm but loses nothing", async () => {
    fleet.emulator.setDelivery({ dropRate: 1 });
    const before = await metric(stripeRateLimited);
    await deposits(stripe, "acct-storm", [1000, 2000, 3000]);
    fleet.emulator.setFaults({
      paths: "^/v1/events",
      failNext: [{ status: 429, count: 12, retryAfterS: 0 }],
    });
    running = await startTestReconciler(fleet);
    await waitFor(allApplied, "every event applied", 20_000);
    expect((await metric(stripeRateLimited)) - before).toBe(12);
    expect(fleet.emulator.requests().filter((r) => r.path === "/v1/events" && r.status === 429)).toHaveLength(
      12,
    );
    // the pass in the storm was slow, not failed
    expect(running.reconciler.outcomes().filter((o) => o.kind === "failed")).toEqual([]);
    expect(await balanceOf("acct-storm")).toBe(6000);
    await expectExactlyOnce();
  });

  it("retries 500s, malformed JSON and timeouts of the Events API, logs them, and heals", async () => {
    fleet.emulator.setDelivery({ dropRate: 1 });
    await deposits(stripe, "acct-flaky", [4000]);
    fleet.emulator.setFaults({
      paths: "^/v1/events",
      failNext: [
        { status: 500, count: 2 },
        { status: "malformed", count: 2 },
        { status: "hang", count: 1 },
        { status: 503, count: 1 },
      ],
    });
    const { log, lines } = capturingLogger("warn");
    running = await startTestReconciler(fleet, log);
    await waitFor(allApplied, "every event applied", 20_000);
    const retried = lines
      .filter((line) => line.msg === "Stripe call failed; retrying")
      .map((l) => String(l.reason));
    expect(retried).toEqual([
      expect.stringMatching(/answered 500/),
      expect.stringMatching(/answered 500/),
      expect.stringMatching(/unreadable answer/),
      expect.stringMatching(/unreadable answer/),
      expect.stringMatching(/cannot reach Stripe/),
      expect.stringMatching(/answered 503/),
    ]);
    expect(running.reconciler.outcomes().filter((o) => o.kind === "failed")).toEqual([]);
    expect(await balanceOf("acct-flaky")).toBe(4000);
    await expectExactlyOnce();
  });

  it("reports a cursor older than Stripe's 30-day retention with a clear line and a metric", async () => {
    await fleet.db
      .updateTable("reconcile_cursor")
      .set({
        cursor_created: Math.floor(Date.now() / 1000) - 31 * 86_400,
        listed_through: Math.floor(Date.now() / 1000) - 31 * 86_400,
        last_success_at: new Date(Date.now() - 31 * 86_400_000),
      })
      .execute();
    reconcileRetentionGap.set(0);
    const { log, lines } = capturingLogger("info");
    running = await startTestReconciler(fleet, log);
    await waitFor(
      () => running?.reconciler.outcomes().some((o) => o.kind === "ok") === true,
      "a pass",
      10_000,
    );
    const report = lines.find((line) => line.level === 50);
    expect(String(report?.msg)).toMatch(
      /^reconcile cursor is older than Stripe's 30-day event retention: events created from \S+ to \S+ can no longer be listed/,
    );
    expect((await reconcileRetentionGap.get()).values[0]?.value).toBeGreaterThan(Date.now() / 1000 - 60);
    // the pass still lists what Stripe keeps, and the cursor moves on from there
    const cursor = await fleet.db.selectFrom("reconcile_cursor").selectAll().executeTakeFirstOrThrow();
    expect(cursor.listed_through).toBeGreaterThan(Date.now() / 1000 - 60);
  });
});

describe("two reconcilers", () => {
  it("run with one active; when it is killed (SIGKILL) the other takes over without a gap", async () => {
    // The active one is a real process, so that it can really be killed; the standby runs here.
    const child = spawnScript("workers/reconciler.ts", {
      DATABASE_URL: fleet.database.url,
      AMQP_URL: fleet.vhost.url,
      STRIPE_SECRET_KEY: testSecrets.stripeKey,
      STRIPE_API_URL: fleet.emulator.url,
      RECONCILE_INTERVAL_S: "1",
      METRICS_PORT: "0",
      LOG_LEVEL: "info",
    });
    let standby: StartedReconciler | undefined;
    try {
      await child.waitForOutput(activeLine, 30_000);
      standby = await startTestReconciler(fleet);
      // both try every second: still exactly one active
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(standby.reconciler.isActive()).toBe(false);
      expect(standby.reconciler.outcomes().length).toBeGreaterThan(0);
      expect(standby.reconciler.outcomes().every((o) => o.kind === "standby")).toBe(true);

      child.child.kill("SIGKILL");
      await child.exited;
      // Every webhook from now on is lost: only the standby, once it takes over, can heal them.
      fleet.emulator.setDelivery({ dropRate: 1 });
      const killedAt = Date.now();
      await deposits(stripe, "acct-takeover", [700, 800]);
      await waitFor(() => standby?.reconciler.isActive() === true, "the standby takes over", 10_000);
      await waitFor(allApplied, "every event applied", 15_000);
      // the lock is free as soon as the killed session ends: one interval, a pass, a little slack
      expect(Date.now() - killedAt).toBeLessThan(6000);
      expect(await balanceOf("acct-takeover")).toBe(1500);
    } finally {
      fleet.emulator.setDelivery({ dropRate: 0 });
      child.child.kill("SIGKILL");
      await child.exited;
      await standby?.stop();
    }
  }, 60_000);

  it("stop acting as active when the lock's connection is lost, and the other takes over", async () => {
    const instances: StartedReconciler[] = [
      await startTestReconciler(fleet),
      await startTestReconciler(fleet),
    ];
    try {
      await waitFor(() => instances.some((i) => i.reconciler.isActive()), "one active", 10_000);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(instances.filter((i) => i.reconciler.isActive())).toHaveLength(1);
      const first = instances.find((i) => i.reconciler.isActive()) as StartedReconciler;
      const other = instances.find((i) => i !== first) as StartedReconciler;

      // The server ends the active one's lock session (a network cut, a failover, an admin).
      const { rows } = await sql<{ ended: boolean }>`
        SELECT pg_terminate_backend(l.pid) AS ended FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`.execute(
        fleet.db,
      );
      expect(rows).toEqual([{ ended: true }]);
      await waitFor(() => !first.reconciler.isActive(), "the first one steps down", 5000);
      await waitFor(
        () => other.reconciler.isActive() || first.reconciler.isActive(),
        "a new active one",
        5000,
      );
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(instances.filter((i) => i.reconciler.isActive())).toHaveLength(1);

      fleet.emulator.setDelivery({ dropRate: 1 });
      await deposits(stripe, "acct-lost-lock", [900]);
      await waitFor(allApplied, "every event applied", 10_000);
      expect(await balanceOf("acct-lost-lock")).toBe(900);
    } finally {
      fleet.emulator.setDelivery({ dropRate: 0 });
      await Promise.all(instances.map((i) => i.stop()));
    }
  });
});
