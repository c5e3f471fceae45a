import { createServer } from "node:net";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { defaults } from "../../lib/config.ts";
import type { Running } from "../../lib/lifecycle.ts";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";
import { startWeb } from "../../workers/web.ts";
import { testConfig, testLogger, testSecrets } from "../helpers/config.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";
import { runOps } from "./run-cli.ts";

// doctor is the post-deploy check: green only when every dependency answers, and each red line
// says why, so the operator knows what to fix.

let migrated: TestDatabase;
let empty: TestDatabase;
let vhost: TestVhost;
let bareVhost: TestVhost;
let emulator: StripeEmulator;
let web: Running & { port: number };
let closedPort: number;

beforeAll(async () => {
  [migrated, empty] = await Promise.all([createTestDatabase(), createTestDatabase({ migrated: false })]);
  vhost = testVhost();
  bareVhost = testVhost();
  await Promise.all([vhost.create(), bareVhost.create()]);
  await declareTopologyOnce(vhost.url, defaults.RETRY_DELAYS_MS.split(",").map(Number));
  emulator = await startStripeEmulator({ apiKey: testSecrets.stripeKey });
  web = await startWeb(testConfig("web", { amqpUrl: vhost.url }), testLogger("web"));
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${web.port}/readyz`)).status === 200,
    "ingester ready",
  );
  closedPort = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
});
afterAll(async () => {
  await web.stop();
  await emulator.close();
  await Promise.all([migrated.drop(), empty.drop(), vhost.delete(), bareVhost.delete()]);
});

const greenEnv = () => ({
  DATABASE_URL: migrated.url,
  AMQP_URL: vhost.url,
  STRIPE_SECRET_KEY: testSecrets.stripeKey,
  STRIPE_API_URL: emulator.url,
  INGESTER_URL: `http://127.0.0.1:${web.port}`,
});

/** The reconciler's cursor as a pass `successAgoS` ago left it, having listed an event `newestAgoS` old. */
async function setCursor(successAgoS: number, newestAgoS: number): Promise<void> {
  const nowS = Math.floor(Date.now() / 1000);
  const row = {
    cursor_created: nowS - newestAgoS,
    listed_through: nowS - successAgoS,
    last_pass_started_at: new Date((nowS - successAgoS) * 1000),
    last_success_at: new Date((nowS - successAgoS) * 1000),
    last_found_missing: 2,
  };
  await migrated.db
    .insertInto("reconcile_cursor")
    .values({ stream: "stripe-events", ...row })
    .onConflict((oc) => oc.column("stream").doUpdateSet(row))
    .execute();
}

describe("doctor", () => {
  it("is all green, one line per check, when everything answers", async () => {
    await setCursor(20, 40);
    const run = await runOps(["doctor"], greenEnv());
    expect(run.code, run.out).toBe(0);
    const lines = run.out.trim().split("\n");
    expect(lines).toHaveLength(8);
    expect(lines[0]).toMatch(/^✓ database: reachable, migrations current \(\d{4}_\w+\)$/);
    expect(lines[1]).toMatch(
      /^✓ broker: reachable, topology present \(4 exchanges, 7 queues\); billing_queue: 0 consumer\(s\)/,
    );
    expect(lines[2]).toBe(`✓ stripe: ${emulator.url} answered with the key (events.list)`);
    expect(lines[3]).toBe(`✓ ingester: http://127.0.0.1:${web.port}/readyz answered 200`);
    expect(lines[4]).toMatch(
      /^✓ reconciler: last successful pass 2\d s ago, cursor lag 2\d s, 2 missing in the last pass$/,
    );
    expect(lines[5]).toBe("✓ database users: no runtime process is connected to this database right now");
    // the test's ingester runs as guest, which may do anything on its vhost: a warning, not a failure
    expect(lines[6]).toMatch(
      /^! broker users: web as "guest" may configure \(declare, delete\) exchange billing,/,
    );
    expect(lines[7]).toBe("all checks passed, 1 warning");
    // --strict fails on the warning; --json says which check warned
    const strict = await runOps(["doctor", "--strict", "--json"], greenEnv());
    expect(strict.code).toBe(1);
    const json = strict.json<{ ok: boolean; checks: { ok: boolean; warning?: boolean }[] }>();
    expect(json.ok).toBe(false);
    expect(json.checks.map((c) => c.ok)).toEqual([true, true, true, true, true, true, true]);
    expect(json.checks.map((c) => c.warning === true)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
    // two runs, each reading the broker's users with rabbitmqctl (seconds each on a busy machine)
  }, 120_000);

  // The reconciler heals missed webhooks only while its passes succeed, inside Stripe's 30 days.
  it("is red when the last reconciliation pass is older than 3 intervals, or the cursor is past retention", async () => {
    await setCursor(1000, 1000);
    const stale = await runOps(["doctor", "--json"], { ...greenEnv(), RECONCILE_INTERVAL_S: "300" });
    expect(stale.code).toBe(1);
    const checks = stale.json<{ checks: { name: string; ok: boolean; detail: string }[] }>().checks;
    expect(checks.find((c) => c.name === "reconciler")).toEqual({
      name: "reconciler",
      ok: false,
      detail: expect.stringMatching(
        /^last successful pass 16 min ago, cursor lag 16 min, 2 missing in the last pass: more than 3 intervals of 300 s \(is a reconciler running\?\)$/,
      ),
    });
    expect((await runOps(["doctor"], { ...greenEnv(), RECONCILE_INTERVAL_S: "400" })).code).toBe(0);
    // a quiet account (newest event 40 days old) whose passes keep running is fine
    await setCursor(60, 40 * 86_400);
    expect((await runOps(["doctor"], greenEnv())).code).toBe(0);
    await setCursor(31 * 86_400, 31 * 86_400);
    const old = await runOps(["doctor"], greenEnv());
    expect(old.code).toBe(1);
    expect(old.out).toContain(
      "✗ reconciler: last successful pass 31 d ago, cursor lag 31 d, 2 missing in the last pass: the cursor is older than Stripe's 30-day event retention",
    );
    await migrated.db.deleteFrom("reconcile_cursor").execute();
    expect((await runOps(["doctor"], greenEnv())).out).toContain(
      "✗ reconciler: no reconciliation pass has run yet (is a reconciler process running?)",
    );
    await setCursor(20, 40);
  });

  it("is red with the reason when migrations are pending, topology is missing, the key is wrong", async () => {
    const run = await runOps(["doctor"], {
      ...greenEnv(),
      DATABASE_URL: empty.url,
      AMQP_URL: bareVhost.url,
      STRIPE_SECRET_KEY: "sk_test_wrong_key",
      INGESTER_URL: undefined,
    });
    expect(run.code).toBe(1);
    const lines = run.out.trim().split("\n");
    expect(lines[0]).toMatch(
      /^✗ database: reachable, but \d+ migration\(s\) pending: 0001_schema.*\(run billing-ops migrate\)$/,
    );
    expect(lines[1]).toMatch(
      /^✗ broker: reachable, but missing: exchange billing, exchange billing.events, exchange billing.dlx, exchange billing.retry, queue billing_queue,.*\(run billing-ops topology\)$/,
    );
    expect(lines[2]).toMatch(/^✗ stripe: http:\/\/127\.0\.0\.1:\d+: .*API key/i);
    expect(lines[3]).toBe("✗ ingester: INGESTER_URL is not set (the ingester's base URL)");
    expect(lines[4]).toMatch(/^✗ reconciler: relation "billing.reconcile_cursor" does not exist$/);
    expect(lines[7]).toBe("5 of 7 checks failed");
  });

  // Old code on a database a newer release migrated would refuse to start: doctor says so.
  it("is red when the database has a migration this release does not know", async () => {
    await sql`INSERT INTO public.kysely_migration (name, timestamp) VALUES ('9999_from_the_future', '2030-01-01')`.execute(
      migrated.db,
    );
    try {
      const run = await runOps(["doctor"], greenEnv());
      expect(run.code).toBe(1);
      expect(run.out.split("\n")[0]).toBe(
        "✗ database: applied migration(s) this release does not have: 9999_from_the_future (roll back with the newer release's migrate down)",
      );
    } finally {
      await sql`DELETE FROM public.kysely_migration WHERE name = '9999_from_the_future'`.execute(migrated.db);
    }
  });

  it("is red, quickly, when nothing can be reached", async () => {
    const started = Date.now();
    const run = await runOps(["doctor", "--json"], {
      DATABASE_URL: `${migrated.url}_missing`,
      AMQP_URL: `${vhost.url}_missing`,
      STRIPE_API_URL: `http://127.0.0.1:${closedPort}`,
      INGESTER_URL: `http://127.0.0.1:${closedPort}`,
    });
    expect(run.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(15_000);
    const { checks } = run.json<{ checks: { name: string; ok: boolean; detail: string }[] }>();
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ["database", false],
      ["broker", false],
      ["stripe", false],
      ["ingester", false],
      ["reconciler", false],
      ["database users", true],
      ["broker users", true],
    ]);
    expect(checks[0]?.detail).toMatch(/does not exist/);
    expect(checks[1]?.detail).toMatch(/^unreachable: /);
    expect(checks[2]?.detail).toBe("STRIPE_SECRET_KEY is not set");
    expect(checks[3]?.detail).toMatch(/readyz: fetch failed: .*ECONNREFUSED/);
  });
});
