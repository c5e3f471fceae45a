import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { isDatabaseOutage } from "../../lib/db/classify-error.ts";
import { createDb, type Db } from "../../lib/db/database.ts";
import { createDatabaseGate, type DatabaseGate } from "../../lib/db/database-gate.ts";
import { databasePaused, databasePauses } from "../../lib/metrics/registry.ts";
import { capturedLog } from "../helpers/captured-log.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startPgProxy, throughPgProxy } from "../helpers/pg-proxy.ts";
import { pgAdminUrl } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait.ts";
import type { TcpProxy } from "../relay/tcp-proxy.ts";

// The one piece every database user of the fleet pauses on. An outage (refused, terminated, admin
// shutdown, read-only after a failover) closes it, with one log line; work is refused at once
// without touching the database; it probes with backoff and opens by itself, with one more line.
// A failure of the work itself (a constraint, a bug) never closes it.

let database: TestDatabase;
let proxy: TcpProxy;
let db: Db;
const gates: DatabaseGate[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  proxy = await startPgProxy();
  db = createDb({ url: throughPgProxy(database.url, proxy), poolSize: 2, applicationName: "gate-test" });
});
afterEach(async () => {
  for (const gate of gates.splice(0)) gate.stop();
  await admin(`ALTER DATABASE ${pg.escapeIdentifier(database.name)} RESET default_transaction_read_only`);
});
afterAll(async () => {
  await db?.destroy();
  await proxy?.close();
  await database?.drop();
});

function gate(process: string) {
  const captured = capturedLog("gate");
  const created = createDatabaseGate({ db, log: captured.log, process }, { probeMinMs: 50, probeMaxMs: 400 });
  gates.push(created);
  const changes: boolean[] = [];
  created.onChange((open) => changes.push(open));
  return { gate: created, changes, lines: captured.lines };
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgAdminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Ends every session of the test database (an administrator's pg_terminate_backend). */
const terminateSessions = () =>
  admin(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${pg.escapeLiteral(database.name)}`,
  );

const write = (id: string) => async () => {
  await db.insertInto("processed_messages").values({ message_id: id }).execute();
};
const gauge = async (process: string) =>
  (await databasePaused.get()).values.find((v) => v.labels.process === process)?.value;
const pauses = async (process: string) =>
  (await databasePauses.get()).values.find((v) => v.labels.process === process)?.value ?? 0;

it("closes when the database is unreachable, refuses work at once, and opens by itself", async () => {
  const { gate: g, changes, lines } = gate("refused");
  await g.run(write("before"));
  await proxy.cut();
  const failure = await g.run(write("during")).catch((e: unknown) => e);
  expect(isDatabaseOutage(failure)).toBe(true);
  expect(g.isOpen()).toBe(false);
  expect(await gauge("refused")).toBe(1);

  // refused without running: the work is not even tried while the gate is closed
  let ran = false;
  await expect(
    g.run(async () => {
      ran = true;
    }),
  ).rejects.toMatchObject({ kind: "transient", code: "database_unavailable" });
  expect(ran).toBe(false);
  expect(await g.check()).toBe(false);

  await sleep(1200); // several probes fail meanwhile, and say nothing
  expect(g.isOpen()).toBe(false);
  const opened = g.whenOpen();
  await proxy.restore();
  await opened;
  expect(changes).toEqual([false, true]);
  expect(lines("pausing")).toHaveLength(1);
  expect(lines("resuming")).toHaveLength(1);
  expect(Number(lines("resuming")[0]?.probes)).toBeGreaterThan(1);
  expect(await gauge("refused")).toBe(0);
  expect(await pauses("refused")).toBe(1);
  await g.run(write("after"));
});

// A failover that lands on a read-only node: reads work, writes fail with 25006. The probe checks
// writability, so the gate stays closed until the database takes writes again.
it("stays closed while the database is read-only, and opens once it takes writes", async () => {
  const { gate: g, changes } = gate("read-only");
  await admin(`ALTER DATABASE ${pg.escapeIdentifier(database.name)} SET default_transaction_read_only = on`);
  await terminateSessions();
  const failure = await g.run(write("read-only-1")).catch((e: unknown) => e);
  expect(isDatabaseOutage(failure)).toBe(true);
  expect(g.isOpen()).toBe(false);
  await sleep(800);
  expect(g.isOpen()).toBe(false);

  await admin(`ALTER DATABASE ${pg.escapeIdentifier(database.name)} RESET default_transaction_read_only`);
  await terminateSessions(); // the failover back: sessions start on a writable primary
  await waitFor(() => g.isOpen(), "the gate open again", 5000);
  expect(changes).toEqual([false, true]);
  await g.run(write("read-only-2"));
});

// An administrator's shutdown of the session under a running statement (57P01) is an outage for a
// moment: the gate closes, and the first probe, which finds the database fine, opens it again.
it("opens at the first probe after the session under the work was terminated", async () => {
  const { gate: g, changes, lines } = gate("terminated");
  const terminatedWork = async () => {
    const running = g.run(() => sql`SELECT pg_sleep(5)`.execute(db)).catch((e: unknown) => e);
    await sleep(300);
    await terminateSessions();
    return running;
  };
  const failure = await terminatedWork();
  expect(failure).toMatchObject({ code: "57P01" });
  expect(isDatabaseOutage(failure)).toBe(true);
  await waitFor(() => g.isOpen(), "open again", 2000);
  expect(changes).toEqual([false, true]);
  // a probe or two: an idle pooled session that was terminated too may fail the first one
  expect(Number(lines("resuming")[0]?.probes)).toBeLessThanOrEqual(2);

  // Again right away: a database that flaps is probed at a slower pace, not hammered.
  await terminatedWork();
  await waitFor(() => g.isOpen(), "open again", 2000);
  const [first, second] = lines("pausing").map((line) => Number(line.firstProbeInMs));
  expect(first).toBe(50);
  expect(second).toBeGreaterThan(first ?? 0);
});

it("stays open when the work itself fails", async () => {
  const { gate: g, changes, lines } = gate("own-failure");
  await g.run(write("dup"));
  const duplicate = await g.run(write("dup")).catch((e: unknown) => e);
  expect(duplicate).toMatchObject({ code: "23505" });
  await expect(g.run(() => Promise.reject(new Error("handler bug")))).rejects.toThrow("handler bug");
  await expect(g.run(() => sql`SELECT nonsense FROM nowhere`.execute(db))).rejects.toThrow(/nowhere/);
  expect(g.isOpen()).toBe(true);
  expect(await g.check()).toBe(true);
  expect(changes).toEqual([]);
  expect(lines()).toEqual([]);
});

it("wakes its waiters when it is stopped", async () => {
  const { gate: g } = gate("stopped");
  await proxy.cut();
  await g.run(write("stop-1")).catch(() => undefined);
  const waiting = g.whenOpen();
  g.stop();
  await waiting;
  expect(g.isOpen()).toBe(false);
  await proxy.restore();
});
