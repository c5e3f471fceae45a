import type { Options } from "amqplib";
import { canonicalJson } from "../domain/canonical-json.ts";
import type { Command } from "../domain/commands.ts";

/** What to publish to the `billing` exchange for one command. */
export interface CommandMessage {
  routingKey: string;
  content: Buffer;
  options: Options.Publish & { messageId: string };
}

/**
 * The Contract's command message: routing key `command.<type>`, messageId = the command id, type =
 * the command type, header x-source = the sending service, body = the command's JSON. The body is
 * canonical (sorted keys), so sending one command twice publishes the same bytes and billing's inbox
 * absorbs the second as a plain duplicate.
 */
export function commandMessage(command: Command, service: string, now = new Date()): CommandMessage {
  return {
    routingKey: `command.${command.type}`,
    content: Buffer.from(canonicalJson(command)),
    options: {
      messageId: command.id,
      type: command.type,
      contentType: "application/json",
      deliveryMode: 2,
      timestamp: Math.floor(now.getTime() / 1000),
      appId: service,
      headers: { "x-source": service },
    },
  };
}
