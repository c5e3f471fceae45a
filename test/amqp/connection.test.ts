import { once } from "node:events";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { type Broker, connectBroker } from "../../lib/amqp/connection.ts";
import { testLogger } from "../helpers/config.ts";
import { amqpBase } from "../helpers/services.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";
import { startTcpProxy, type TcpProxy, throughProxy } from "../relay/tcp-proxy.ts";

// The connection every process holds: it must survive the broker resetting a connection the
// process is closing itself (the vhost-deleted crash: "write ECONNRESET" as an uncaught exception),
// and with AMQP_URL listing several nodes it must move to another node when its node goes away.

let vhost: TestVhost;
const proxies: TcpProxy[] = [];
const brokers: Broker[] = [];
const log = testLogger("connection");
const uncaught: unknown[] = [];
const recordUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  vhost = testVhost();
  await vhost.create();
  process.prependListener("uncaughtException", recordUncaught);
});
afterEach(async () => {
  for (const broker of brokers.splice(0)) await broker.close();
  for (const proxy of proxies.splice(0)) await proxy.close();
});
afterAll(async () => {
  process.removeListener("uncaughtException", recordUncaught);
  await vhost?.delete();
});

async function proxy(): Promise<TcpProxy> {
  const url = new URL(amqpBase);
  const started = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5672) });
  proxies.push(started);
  return started;
}

function connect(url: string): Broker {
  const broker = connectBroker(url, { log, name: "connection-test" });
  brokers.push(broker);
  return broker;
}

// A forced reconnect (what a consumer does when RabbitMQ cancels it) closes the connection; here
// the broker's answer never comes and the socket is then cut, as when a vhost is deleted at that
// moment. The process must not die of the socket error, and must connect again by itself.
it("survives a connection reset while it closes that connection, and connects again", async () => {
  const tcp = await proxy();
  const broker = connect(throughProxy(vhost.url, tcp));
  await waitFor(() => broker.isConnected(), "connected");

  tcp.holdReplies();
  const disconnected = once(broker, "disconnect");
  broker.reconnect();
  await new Promise((r) => setTimeout(r, 200));
  await tcp.cut();
  await disconnected;
  tcp.releaseReplies();
  await tcp.restore();

  await waitFor(() => broker.isConnected(), "connected again after the reset", 10_000);
  expect(uncaught).toEqual([]);
});

// Two proxies stand for two nodes of a cluster. The process is on one; that node dies: it moves to
// the other without help. Then that one dies and the first is back: it moves back.
it("fails over between the nodes AMQP_URL lists", async () => {
  const first = await proxy();
  const second = await proxy();
  const urls = [throughProxy(vhost.url, first), throughProxy(vhost.url, second)];
  const broker = connect(urls.join(","));
  const nodes: string[] = [];
  broker.on("connect", ({ url }: { url: unknown }) => nodes.push(String(url)));
  await waitFor(() => broker.isConnected(), "connected");

  const port = (url: string | undefined) => Number(new URL(url ?? "amqp://x").port);
  const onNode = () => (port(nodes.at(-1)) === first.port ? first : second);
  const dead = onNode();
  await dead.cut();
  await waitFor(() => broker.isConnected() && onNode() !== dead, "connected to the other node", 10_000);

  await dead.restore();
  const other = onNode();
  await other.cut();
  await waitFor(() => broker.isConnected() && onNode() === dead, "back on the first node", 10_000);
  expect(uncaught).toEqual([]);
});
