import { afterAll, beforeAll, expect, it } from "vitest";
import { startRelay } from "../../workers/relay.ts";
import { release } from "../../workers/release.ts";
import { startWeb } from "../../workers/web.ts";
import { startWorker } from "../../workers/worker.ts";
import { testConfig, testLogger } from "../helpers/config.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";

let database: TestDatabase;
let vhost: TestVhost;
const log = testLogger();

beforeAll(async () => {
  database = await createTestDatabase();
  vhost = testVhost();
  await vhost.create();
});
afterAll(async () => {
  await database.drop();
  await vhost.delete();
});

// The composition roots start, serve health, and stop idempotently (what SIGTERM calls).
it("release, then web, worker and relay start and stop", async () => {
  const env = { databaseUrl: database.url, amqpUrl: vhost.url };
  await release(testConfig("release", env), log);
  const web = await startWeb(testConfig("web", env), log);
  const worker = await startWorker(testConfig("worker", { ...env, METRICS_PORT: "0" }), log);
  const relay = await startRelay(testConfig("relay", env), log);
  const health = await fetch(`http://127.0.0.1:${web.port}/healthz`);
  expect(health.status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${web.port}/nope`)).status).toBe(404);
  const metrics = await (await fetch(`http://127.0.0.1:${web.port}/metrics`)).text();
  expect(metrics).toContain("billing_broker_connected");
  await Promise.all([web.stop(), worker.stop(), relay.stop()]);
  await web.stop();
});
