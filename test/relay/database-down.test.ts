import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Running } from "../../lib/lifecycle.ts";
import { startRelay } from "../../workers/relay.ts";
import { capturedLog } from "../helpers/captured-log.ts";
import { testConfig } from "../helpers/config.ts";
import { freePort } from "../helpers/free-port.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { startPgProxy, throughPgProxy } from "../helpers/pg-proxy.ts";
import { waitFor } from "../helpers/wait.ts";
import { type EventListener, insertEvents, listenToEvents, unpublishedIds } from "./outbox-fixtures.ts";
import type { TcpProxy } from "./tcp-proxy.ts";

// The relay on a database outage: it claims nothing while PostgreSQL is unreachable, says so once
// (not once per poll), answers 503 on /readyz, and relays the backlog by itself once the database
// is back, each event once.

const services = useTestServices();
const captured = capturedLog("relay");
let listener: EventListener;
let proxy: TcpProxy;
let relay: Running;
let metricsPort: number;

beforeAll(async () => {
  listener = await listenToEvents(services.vhost.url);
  proxy = await startPgProxy();
  metricsPort = await freePort();
  const config = testConfig("relay", {
    databaseUrl: throughPgProxy(services.database.url, proxy),
    amqpUrl: services.vhost.url,
    METRICS_PORT: String(metricsPort),
  });
  relay = await startRelay(config, captured.log, { lagSampleMs: 100, errorMinMs: 20, errorMaxMs: 100 });
});
afterAll(async () => {
  await relay.stop();
  await proxy.close();
  await listener.close();
});

const readyz = async () =>
  (await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined))?.status ?? 0;
const delivered = (prefix: string) => listener.ids().filter((id) => id.startsWith(`${prefix}-`));

it("pauses on a database outage with one log line, and relays the backlog once it is back", async () => {
  const warm = await insertEvents(services.database.db, "warm", 20);
  await waitFor(() => delivered("warm").length === warm.length, "relay publishing");
  await waitFor(async () => (await readyz()) === 200, "relay ready");

  await proxy.cut();
  // the test writes the outbox directly: the outage is only the relay's
  const ids = await insertEvents(services.database.db, "down", 200);
  await waitFor(async () => (await readyz()) === 503, "/readyz 503 while the database is down");
  await sleep(1500);
  expect(delivered("down")).toEqual([]);
  expect(captured.lines("pausing")).toHaveLength(1);
  expect(captured.lines("not published")).toEqual([]);
  expect(captured.lines("cannot measure")).toEqual([]);

  await proxy.restore();
  await waitFor(
    async () => (await unpublishedIds(services.database.db)).length === 0,
    "outbox drained",
    15_000,
  );
  await waitFor(() => delivered("down").length >= ids.length, "every event delivered");
  expect(new Set(delivered("down"))).toEqual(new Set(ids));
  expect(delivered("down")).toHaveLength(ids.length);
  expect(captured.lines("resuming")).toHaveLength(1);
  await waitFor(async () => (await readyz()) === 200, "/readyz 200 again");
});
