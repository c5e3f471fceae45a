import { expect, it } from "vitest";
import { startRelay } from "../../workers/relay.ts";
import { release } from "../../workers/release.ts";
import { startWeb } from "../../workers/web.ts";
import { startWorker } from "../../workers/worker.ts";
import { testConfig, testLogger } from "../helpers/config.ts";
import { useTestServices } from "../helpers/isolated-services.ts";

const services = useTestServices();
const log = testLogger();

// The composition roots start, serve health, and stop idempotently (what SIGTERM calls).
it("release, then web, worker and relay start and stop", async () => {
  const env = { databaseUrl: services.database.url, amqpUrl: services.vhost.url };
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
