// AMQP_URL names one broker, or the nodes of a cluster separated by commas (a comma inside a
// password must then be written %2C). Every connection of the fleet fails over between them.

/** The node URLs of an AMQP_URL value, in the order given; empty entries are dropped. */
export function brokerNodes(amqpUrl: string): string[] {
  return amqpUrl
    .split(",")
    .map((node) => node.trim())
    .filter((node) => node !== "");
}

/**
 * The nodes in the order this process tries them: the list rotated by a random offset, so that
 * the processes of a fleet spread their connections over the cluster instead of all taking the
 * first node.
 */
export function nodesInTryOrder(amqpUrl: string, random: () => number = Math.random): string[] {
  const nodes = brokerNodes(amqpUrl);
  const start = Math.floor(random() * nodes.length) % Math.max(1, nodes.length);
  return [...nodes.slice(start), ...nodes.slice(0, start)];
}
