import { connectBillingClient } from "../../lib/client/index.ts";
import type { Command } from "../../lib/domain/commands.ts";

/** What the demo uses of lib/client: send resolves once the broker confirmed. */
export interface AmqpCommands {
  send(command: Command): Promise<void>;
  close(): Promise<void>;
}

/** A lib/client connection to `amqpUrl`, as another service would open one. */
export async function connectAmqpCommands(amqpUrl: string): Promise<AmqpCommands> {
  const client = await connectBillingClient({ url: amqpUrl, service: "demo-shop" });
  return {
    send: (command) => client.send(command),
    close: () => client.close(),
  };
}
