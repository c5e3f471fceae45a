import { afterAll, beforeAll, expect, it } from "vitest";
import { connectFirstNode } from "../../lib/amqp/connect-first-node.ts";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { names } from "../../lib/amqp/topology.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";

// `release` and the ops CLI connect once: with a cluster in AMQP_URL they take the first node that
// answers, and when none does they say which nodes failed (never a password).

let vhost: TestVhost;
beforeAll(async () => {
  vhost = testVhost();
  await vhost.create();
});
afterAll(async () => {
  await vhost?.delete();
});

const deadNode = (url: string, port: number) => {
  const dead = new URL(url);
  dead.port = String(port);
  dead.password = "s3cret";
  return dead.toString();
};

it("skips a node that does not answer", async () => {
  const connection = await connectFirstNode(`${deadNode(vhost.url, 1)},${vhost.url}`, { timeoutMs: 2000 });
  await connection.close();
});

it("names every node that failed, without credentials", async () => {
  const error = await connectFirstNode(`${deadNode(vhost.url, 1)},${deadNode(vhost.url, 2)}`, {
    timeoutMs: 2000,
  }).then(
    () => new Error("connected to a dead node"),
    (e: unknown) => e as Error,
  );
  expect(error.message).toMatch(/^no RabbitMQ node answered \(127\.0\.0\.1:1\/.*; 127\.0\.0\.1:2\//);
  expect(error.message).not.toContain("s3cret");
});

// release and `billing-ops topology` with a cluster's nodes: the topology lands through a live one.
it("declares the topology through the first live node of the list", async () => {
  await declareTopologyOnce(`${deadNode(vhost.url, 1)},${vhost.url}`, [100]);
  const connection = await connectFirstNode(vhost.url, { timeoutMs: 2000 });
  try {
    const channel = await connection.createChannel();
    expect((await channel.checkQueue(names.queue)).queue).toBe(names.queue);
  } finally {
    await connection.close();
  }
});
