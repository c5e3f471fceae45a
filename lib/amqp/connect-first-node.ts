import amqplib, { type ChannelModel } from "amqplib";
import { errorMessage } from "../domain/errors.ts";
import { brokerNodes } from "./broker-nodes.ts";
import { nodeName } from "./node-name.ts";

/**
 * One plain connection (no retry loop) to the first node of AMQP_URL that answers, tried in the
 * order given: for `release` and the ops CLI, which stop with one line when no node answers.
 */
export async function connectFirstNode(
  amqpUrl: string,
  options: { timeoutMs: number },
): Promise<ChannelModel> {
  const nodes = brokerNodes(amqpUrl);
  const failures: string[] = [];
  for (const node of nodes) {
    try {
      return await amqplib.connect(node, { timeout: options.timeoutMs });
    } catch (error) {
      if (nodes.length === 1) throw error;
      failures.push(`${nodeName(node) ?? "?"}: ${errorMessage(error)}`);
    }
  }
  throw new Error(`no RabbitMQ node answered (${failures.join("; ")})`);
}
