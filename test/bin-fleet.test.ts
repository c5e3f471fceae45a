import { statSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { testSecrets } from "./helpers/config.ts";
import { createTestDatabase, type TestDatabase } from "./helpers/database.ts";
import { spawnNode } from "./helpers/spawn.ts";
import { type TestVhost, testVhost } from "./helpers/vhost.ts";

// bin/fleet.js is what the Procfile runs: compiled output, built on demand when missing or stale.

let database: TestDatabase;
let vhost: TestVhost;

beforeAll(async () => {
  database = await createTestDatabase();
  vhost = testVhost();
  await vhost.create();
});
afterAll(async () => {
  await database?.drop();
  await vhost?.delete();
});

const env = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: database.url,
  AMQP_URL: vhost.url,
  METRICS_PORT: "0",
  STRIPE_SECRET_KEY: testSecrets.stripeKey,
  ...extra,
});

it("refuses an unknown process with one line naming the valid ones", async () => {
  const child = spawnNode(["bin/fleet.js", "wrker"], env());
  expect(await child.exited).toBe(1);
  expect(child.output().trim()).toBe('fleet: unknown process "wrker": one of web, worker, relay, release');
});

it("runs the worker from dist/ (building it when stale), and stops it on SIGTERM", async () => {
  const child = spawnNode(["bin/fleet.js", "worker"], env());
  // a fresh clone builds first
  await child.waitForOutput("consuming billing_queue", 90_000);
  const stamp = statSync(new URL("../dist/.build-stamp", import.meta.url)).mtimeMs;
  expect(stamp).toBeGreaterThanOrEqual(statSync(new URL("../lib/config.ts", import.meta.url)).mtimeMs);
  child.child.kill("SIGTERM");
  expect(await child.exited).toBe(0);

  // now fresh: no second build, and a bad variable is still one line
  const release = spawnNode(["bin/fleet.js", "release"], env({ AMQP_URL: "nope" }));
  expect(await release.exited).toBe(1);
  const lines = release.output().trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain("AMQP_URL");
}, 120_000);
