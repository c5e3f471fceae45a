import { expect, it } from "vitest";
import { brokerNodes, nodesInTryOrder } from "../../lib/amqp/broker-nodes.ts";

// AMQP_URL as a list of nodes, and the order one process tries them in: every node, each once,
// starting at a random one so that a fleet does not pile onto the first node of the list.

it("splits AMQP_URL into its nodes", () => {
  expect(brokerNodes("amqp://a")).toEqual(["amqp://a"]);
  expect(brokerNodes(" amqp://a , amqp://b,,amqp://c ")).toEqual(["amqp://a", "amqp://b", "amqp://c"]);
  expect(brokerNodes(",")).toEqual([]);
});

it("tries every node once, starting where the random draw says", () => {
  const url = "amqp://a,amqp://b,amqp://c";
  expect(nodesInTryOrder(url, () => 0)).toEqual(["amqp://a", "amqp://b", "amqp://c"]);
  expect(nodesInTryOrder(url, () => 0.5)).toEqual(["amqp://b", "amqp://c", "amqp://a"]);
  expect(nodesInTryOrder(url, () => 0.99)).toEqual(["amqp://c", "amqp://a", "amqp://b"]);
  expect(nodesInTryOrder("amqp://a", () => 0.7)).toEqual(["amqp://a"]);
  expect(nodesInTryOrder("", () => 0.7)).toEqual([]);
});
