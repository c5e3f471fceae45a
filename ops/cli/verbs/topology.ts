import { declareTopologyOnce } from "../../../lib/amqp/declare-once.ts";
import { queueArguments } from "../../../lib/amqp/topology.ts";
import type { Verb } from "../verb.ts";

export const topology: Verb = {
  words: ["topology"],
  summary: "declare the RabbitMQ exchanges, queues and bindings (idempotent)",
  usage: "topology",
  options: {},
  async run({ config }) {
    await declareTopologyOnce(config.amqpUrl, config.retryDelaysMs);
    const queues = Object.keys(queueArguments(config.retryDelaysMs));
    return { ok: true, lines: [`declared exchanges and ${queues.length} queues`], json: { queues } };
  },
};
