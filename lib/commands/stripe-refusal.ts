import Stripe from "stripe";
import { PermanentError } from "../domain/errors.ts";
import type { CommandError } from "./command-context.ts";

// A Stripe 4xx reaches a handler as PermanentError("stripe_request_failed") with the stripe
// package's error as its cause; these read Stripe's details back from it.

/** The failed command's error for a request Stripe refused; undefined for any other error. */
export function stripeRefusal(error: unknown): CommandError | undefined {
  if (!(error instanceof PermanentError) || error.code !== "stripe_request_failed") return undefined;
  const cause = error.cause;
  if (!(cause instanceof Stripe.errors.StripeError)) return { code: error.code, message: error.message };
  const stripe: NonNullable<CommandError["stripe"]> = {};
  if (cause.statusCode !== undefined) stripe.status = cause.statusCode;
  if (cause.rawType !== undefined) stripe.type = cause.rawType;
  if (cause.code !== undefined) stripe.code = cause.code;
  if (cause.decline_code !== undefined) stripe.declineCode = cause.decline_code;
  return { code: error.code, message: error.message, stripe };
}

/** True when Stripe answered 404 (e.g. resource_missing). */
export function isStripeNotFound(error: unknown): boolean {
  return stripeRefusal(error)?.stripe?.status === 404;
}
