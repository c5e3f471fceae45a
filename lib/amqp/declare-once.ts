import { connectFirstNode } from "./connect-first-node.ts";
import { declareTopology } from "./topology.ts";

/** Connects once (no retry loop; the first node that answers), declares the topology and disconnects: for `release` and the CLI. */
export async function declareTopologyOnce(url: string, retryDelaysMs: readonly number[]): Promise<void> {
  const connection = await connectFirstNode(url, { timeoutMs: 5000 });
  try {
    const channel = await connection.createChannel();
    await declareTopology(channel, retryDelaysMs);
    await channel.close();
  } finally {
    await connection.close();
  }
}
