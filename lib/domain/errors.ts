// Errors say what happens next: a PermanentError is dead-lettered at once, a TransientError is
// retried. Anything else that is thrown counts as transient until the attempts run out.

/** The catalogue of error codes; every thrown BillingError carries one. */
export const errorCodes = [
  // permanent: the message itself is wrong and will never apply as it is
  "invalid_message",
  "invalid_command",
  "invalid_event",
  "unknown_account",
  "idempotency_conflict",
  "currency_mismatch",
  // a stripe.* message RabbitMQ cannot vouch came from a trusted publisher (STRIPE_EVENT_PUBLISHERS)
  "untrusted_publisher",
  // a command that ran and was refused (recorded as a failed command, not a dead letter)
  "insufficient_funds",
  "stripe_request_failed",
  "not_found",
  // transient: the world is briefly unable; the same message will apply later
  "database_unavailable",
  "serialization_failure",
  "deadlock",
  "broker_unavailable",
  "stripe_unavailable",
  "stripe_rate_limited",
  // an event arrived before one it depends on (Stripe does not order deliveries): retry it later
  "out_of_order",
  "unexpected",
] as const;

export type ErrorCode = (typeof errorCodes)[number];
export type ErrorKind = "transient" | "permanent";

/** Base of the errors the consumer acts on. */
export abstract class BillingError extends Error {
  abstract readonly kind: ErrorKind;
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Retrying cannot help: dead-letter (or fail the command) now. */
export class PermanentError extends BillingError {
  readonly kind = "permanent" as const;
}

/** The same message will probably apply later: retry it. */
export class TransientError extends BillingError {
  readonly kind = "transient" as const;
  /** A delay the remote side asked for (e.g. Stripe's Retry-After), in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(code, message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** The kind of any thrown value: unknown throws count as transient. */
export function errorKind(error: unknown): ErrorKind {
  return error instanceof BillingError ? error.kind : "transient";
}

/** The code of any thrown value. */
export function errorCode(error: unknown): ErrorCode {
  return error instanceof BillingError ? error.code : "unexpected";
}

/** A one-line, stack-free description of any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
