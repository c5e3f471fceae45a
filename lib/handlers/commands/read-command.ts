import { type Command, validateCommand } from "../../domain/commands.ts";
import { errorMessage, PermanentError } from "../../domain/errors.ts";
import type { InboundMessage } from "../context.ts";

// A message that is not a valid command can never apply as it is: it goes to the DLQ (permanent)
// with every problem named, so that ops can fix and replay it.

/** The command a `command.*` message carries, or PermanentError("invalid_command") saying what is wrong. */
export function readCommand(message: InboundMessage): Command {
  let body: unknown;
  try {
    body = JSON.parse(message.body.toString("utf8"));
  } catch (error) {
    throw new PermanentError("invalid_command", `command body is not JSON: ${errorMessage(error)}`);
  }
  const validation = validateCommand(body);
  if (!validation.ok) {
    const problems = validation.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    throw new PermanentError("invalid_command", `invalid command ${JSON.stringify(message.id)}: ${problems}`);
  }
  const { command } = validation;
  if (command.id !== message.id) {
    throw new PermanentError(
      "invalid_command",
      `messageId ${JSON.stringify(message.id)} is not the command's id ${JSON.stringify(command.id)}`,
    );
  }
  if (message.routingKey !== `command.${command.type}`) {
    throw new PermanentError(
      "invalid_command",
      `routing key "${message.routingKey}" does not match the command's type ${command.type}`,
    );
  }
  return command;
}
