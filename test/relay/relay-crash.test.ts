import { afterAll, beforeAll, expect, it } from "vitest";
import { useTestServices } from "../helpers/isolated-services.ts";
import { amqpBase } from "../helpers/services.ts";
import { spawnScript } from "../helpers/spawn.ts";
import { waitFor } from "../helpers/wait.ts";
import { type EventListener, insertEvents, listenToEvents, unpublishedIds } from "./outbox-fixtures.ts";
import { startTcpProxy, type TcpProxy, throughProxy } from "./tcp-proxy.ts";

const services = useTestServices();
let listener: EventListener;
let proxy: TcpProxy;

beforeAll(async () => {
  listener = await listenToEvents(services.vhost.url);
  const broker = new URL(amqpBase);
  proxy = await startTcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
});
afterAll(async () => {
  await proxy.close();
  await listener.close();
});

/** The real `relay` process, talking to RabbitMQ through the proxy. */
function relayProcess() {
  return spawnScript("workers/relay.ts", {
    DATABASE_URL: services.database.url,
    AMQP_URL: throughProxy(services.vhost.url, proxy),
    METRICS_PORT: "0",
    LOG_LEVEL: "info",
  });
}

// The acceptance point: a relay killed mid-batch (events published, rows not yet marked) loses no
// event. After a restart every event has arrived, a duplicate carries the same event id, and only
// rows that were unmarked at a kill are ever delivered twice.
it("loses no event when the relay process is killed mid-batch", async () => {
  const warmUp = await insertEvents(services.database.db, "warm", 10);
  const first = relayProcess();
  await waitFor(
    async () => (await unpublishedIds(services.database.db)).length === 0,
    "first relay publishing",
    15_000,
  );

  // 1. Deterministically mid-batch: the broker's confirms are held back, so the relay has published
  //    a whole batch (it reached the queue) and is waiting to mark it when it is killed.
  proxy.holdReplies();
  const ids = await insertEvents(services.database.db, "kill", 3000);
  await waitFor(
    () => listener.ids().filter((id) => id.startsWith("kill-")).length >= 100,
    "a batch in flight",
  );
  first.child.kill("SIGKILL");
  expect(await first.exited).toBe("SIGKILL");
  proxy.releaseReplies();
  await settle(() => listener.messages.length);
  const unmarkedAtKills = new Set(await unpublishedIds(services.database.db));
  const inFlight = listener.ids().filter((id) => id.startsWith("kill-"));
  // published, and the kill rolled the marking back: every one of them is still in the outbox
  expect(inFlight.length).toBeGreaterThan(0);
  expect(inFlight.every((id) => unmarkedAtKills.has(id))).toBe(true);

  // 2. Killed again at whatever point it reached while streaming the backlog.
  const second = relayProcess();
  const seen = listener.messages.length;
  await waitFor(() => listener.messages.length >= seen + 500, "events flowing", 15_000, 1);
  second.child.kill("SIGKILL");
  expect(await second.exited).toBe("SIGKILL");
  await settle(() => listener.messages.length);
  for (const id of await unpublishedIds(services.database.db)) unmarkedAtKills.add(id);

  // 3. A relay that runs to the end, then stops cleanly.
  const third = relayProcess();
  try {
    await waitFor(
      async () => (await unpublishedIds(services.database.db)).length === 0,
      "outbox drained",
      20_000,
    );
    await waitFor(() => new Set(listener.ids()).size === ids.length + warmUp.length, "every event delivered");
    await settle(() => listener.messages.length);
  } finally {
    third.child.kill("SIGTERM");
  }
  expect(await third.exited).toBe(0);

  // No event is lost: the ids delivered are exactly the outbox's.
  expect(new Set(listener.ids())).toEqual(new Set([...warmUp, ...ids]));
  // At-least-once with stable ids: a duplicate is the same event, same id in properties and body.
  for (const message of listener.messages) {
    expect(JSON.parse(message.content.toString()).id).toBe(message.properties.messageId);
  }
  // Redelivered: the batch in flight at the first kill. Nothing that was marked went out again.
  const counts = new Map<string, number>();
  for (const id of listener.ids()) counts.set(id, (counts.get(id) ?? 0) + 1);
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  expect(duplicated).toEqual(expect.arrayContaining(inFlight));
  expect(duplicated.every((id) => unmarkedAtKills.has(id) && (counts.get(id) ?? 0) <= 3)).toBe(true);
});

/** Waits until `count` stops changing for a short while. */
async function settle(count: () => number): Promise<void> {
  let last = -1;
  while (count() !== last) {
    last = count();
    await new Promise((r) => setTimeout(r, 300));
  }
}
