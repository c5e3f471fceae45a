import { PermanentError } from "../domain/errors.ts";
import { handleCommand } from "./commands/handle-command.ts";
import type { Handler } from "./context.ts";
import { handleStripeEvent } from "./stripe-event.ts";

/** Routes a message to its family by routing key; anything else is a permanent error (DLQ). */
export const dispatch: Handler = async (context) => {
  const { routingKey } = context.message;
  if (routingKey.startsWith("stripe.")) return handleStripeEvent(context);
  if (routingKey.startsWith("command.")) return handleCommand(context);
  throw new PermanentError("invalid_message", `no handler for routing key "${routingKey}"`);
};
