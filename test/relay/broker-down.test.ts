import { afterAll, beforeAll, expect, it } from "vitest";
import type { Running } from "../../lib/lifecycle.ts";
import { brokerConnected, outboxLag, outboxPending } from "../../lib/metrics/registry.ts";
import { startRelay } from "../../workers/relay.ts";
import { testConfig, testLogger } from "../helpers/config.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { amqpBase } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait.ts";
import { type EventListener, insertEvents, listenToEvents, unpublishedIds } from "./outbox-fixtures.ts";
import { startTcpProxy, type TcpProxy, throughProxy } from "./tcp-proxy.ts";

const services = useTestServices();
let listener: EventListener;
let proxy: TcpProxy;
let relay: Running;

beforeAll(async () => {
  listener = await listenToEvents(services.vhost.url);
  const broker = new URL(amqpBase);
  proxy = await startTcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
  // The relay process's own wiring, reaching RabbitMQ through a proxy the test can cut.
  const config = testConfig("relay", {
    databaseUrl: services.database.url,
    amqpUrl: throughProxy(services.vhost.url, proxy),
  });
  relay = await startRelay(config, testLogger(), { lagSampleMs: 100 });
});
afterAll(async () => {
  await relay.stop();
  await proxy.close();
  await listener.close();
});

const gauge = async (metric: typeof outboxPending) => (await metric.get()).values[0]?.value;
const delivered = (prefix: string) => new Set(listener.ids().filter((id) => id.startsWith(`${prefix}-`)));

// While RabbitMQ is unreachable the rows stay in the outbox (and the lag shows it); once it is back
// they are published, each once, with nobody restarting anything.
it("keeps rows while the broker is down and publishes them when it returns", async () => {
  const warm = await insertEvents(services.database.db, "warm", 10);
  await waitFor(() => delivered("warm").size === warm.length, "relay publishing");

  await proxy.cut();
  await waitFor(async () => (await gauge(brokerConnected)) === 0, "relay sees the broker gone");
  const ids = await insertEvents(services.database.db, "down", 50);
  await new Promise((r) => setTimeout(r, 1000));
  expect(new Set(await unpublishedIds(services.database.db))).toEqual(new Set(ids));
  expect(delivered("down").size).toBe(0);
  await waitFor(async () => (await gauge(outboxPending)) === ids.length, "pending gauge shows the backlog");
  expect(await gauge(outboxLag)).toBeGreaterThan(0);

  await proxy.restore();
  await waitFor(
    async () => (await unpublishedIds(services.database.db)).length === 0,
    "outbox drained",
    15_000,
  );
  await waitFor(() => delivered("down").size === ids.length, "every event delivered");
  expect(listener.ids().filter((id) => id.startsWith("down-"))).toHaveLength(ids.length);
  await waitFor(async () => (await gauge(outboxPending)) === 0, "pending gauge back to 0");
  expect(await gauge(outboxLag)).toBe(0);
});

// The connection drops while a batch awaits its confirms: the batch is rolled back, not marked,
// and republished after the reconnect; no event is lost.
it("rolls back a batch whose confirms are lost with the connection", async () => {
  proxy.holdReplies();
  const ids = await insertEvents(services.database.db, "cut", 500);
  await waitFor(() => delivered("cut").size >= 100, "a batch published, confirms held");
  const inFlight = delivered("cut");
  await proxy.cut();
  proxy.releaseReplies();
  await waitFor(async () => (await gauge(brokerConnected)) === 0, "relay sees the broker gone");
  // let the rollback happen, then check nothing of the batch was marked
  await new Promise((r) => setTimeout(r, 300));
  expect(new Set(await unpublishedIds(services.database.db))).toEqual(new Set(ids));

  await proxy.restore();
  await waitFor(
    async () => (await unpublishedIds(services.database.db)).length === 0,
    "outbox drained",
    15_000,
  );
  await waitFor(() => delivered("cut").size === ids.length, "every event delivered");
  const counts = new Map<string, number>();
  for (const id of listener.ids().filter((i) => i.startsWith("cut-")))
    counts.set(id, (counts.get(id) ?? 0) + 1);
  // the batch in flight went twice, with the same ids; everything else once
  for (const [id, n] of counts) expect(n).toBe(inFlight.has(id) ? 2 : 1);
});
