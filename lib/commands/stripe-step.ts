import type Stripe from "stripe";
import type { CommandType } from "../domain/command-types.ts";
import { idempotencyKey } from "../stripe/client.ts";
import type { CommandContext } from "./command-context.ts";

/**
 * One Stripe request of a command, through the shared client (classification, quick retries) with
 * the Idempotency-Key of (command id, step): a redelivered or replayed command repeats the same
 * request and Stripe answers it with the first result instead of acting twice.
 */
export function stripeStep<R, T extends CommandType = CommandType>(
  context: CommandContext<T>,
  step: string,
  request: (client: Stripe, options: Stripe.RequestOptions) => Promise<R>,
): Promise<R> {
  const options = { idempotencyKey: idempotencyKey(context.command.id, step) };
  return context.stripe.call(`${context.command.type} ${step}`, (client) => request(client, options));
}
