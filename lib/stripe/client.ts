import { createHash } from "node:crypto";
import pRetry from "p-retry";
import Stripe from "stripe";
import { PermanentError, TransientError } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import { stripeRequests } from "../metrics/registry.ts";

// The one module that talks to the Stripe API. Connection errors, 5xx and 429 are transient and
// retried here a few times (honouring Retry-After); other 4xx are permanent with Stripe's message.
// The stripe package's own retries are off so that every retry carries our idempotency key and
// our classification.

export interface StripeApi {
  /** The raw client, for requests; always call it through `call`. */
  readonly client: Stripe;
  /** Runs one Stripe request with classification and quick retries; `what` names it in logs. */
  call<T>(what: string, request: (client: Stripe) => Promise<T>): Promise<T>;
}

export interface StripeApiOptions {
  secretKey: string;
  /** Base URL override (e.g. the local emulator); Stripe's own when undefined. */
  apiUrl?: string | undefined;
  log: Logger;
  /** In-process retries before the error goes back to the consumer's delayed ladder. */
  retries?: number;
  /** A Retry-After longer than this is left to the delayed ladder rather than slept here. */
  maxInlineWaitMs?: number;
  timeoutMs?: number;
}

/** The Stripe client the worker and the CLI share. */
export function createStripeApi(options: StripeApiOptions): StripeApi {
  const url = options.apiUrl === undefined ? undefined : new URL(options.apiUrl);
  const client = new Stripe(options.secretKey, {
    maxNetworkRetries: 0,
    timeout: options.timeoutMs ?? 20_000,
    telemetry: false,
    ...(url === undefined
      ? {}
      : {
          host: url.hostname,
          port: url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port),
          protocol: url.protocol === "https:" ? "https" : "http",
        }),
  });
  const log = options.log.child({ subsystem: "stripe" });
  const maxInlineWaitMs = options.maxInlineWaitMs ?? 5000;

  return {
    client,
    async call(what, request) {
      return pRetry(
        async () => {
          try {
            const result = await request(client);
            stripeRequests.inc({ outcome: "ok" });
            return result;
          } catch (error) {
            const classified = classifyStripeError(error);
            stripeRequests.inc({ outcome: classified.kind === "permanent" ? "client_error" : "retryable" });
            throw classified;
          }
        },
        {
          retries: options.retries ?? 3,
          minTimeout: 100,
          maxTimeout: 1000,
          randomize: true,
          shouldRetry: ({ error }) =>
            error instanceof TransientError && (error.retryAfterMs ?? 0) <= maxInlineWaitMs,
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            if (!(error instanceof TransientError)) return;
            log.warn(
              { request: what, attempt: attemptNumber, retriesLeft, reason: error.message },
              "Stripe call failed",
            );
            const wait = error.retryAfterMs ?? 0;
            if (retriesLeft > 0 && wait > 0 && wait <= maxInlineWaitMs) {
              await new Promise((resolve) => setTimeout(resolve, wait));
            }
          },
        },
      );
    },
  };
}

/** Maps anything the stripe package throws to a Transient or Permanent error. */
export function classifyStripeError(error: unknown): TransientError | PermanentError {
  if (error instanceof TransientError || error instanceof PermanentError) return error;
  if (!(error instanceof Stripe.errors.StripeError)) {
    const message = error instanceof Error ? error.message : String(error);
    return new TransientError("stripe_unavailable", `Stripe request failed: ${message}`, { cause: error });
  }
  const status = error.statusCode;
  if (error.type === "StripeConnectionError" || status === undefined) {
    return new TransientError("stripe_unavailable", `cannot reach Stripe: ${error.message}`, {
      cause: error,
    });
  }
  if (status === 429) {
    return new TransientError("stripe_rate_limited", `Stripe rate limit: ${error.message}`, {
      cause: error,
      retryAfterMs: retryAfterMs(error.headers?.["retry-after"]),
    });
  }
  if (status >= 500 || status === 409) {
    // 409 is Stripe's "a request with this idempotency key is in progress": try again.
    return new TransientError("stripe_unavailable", `Stripe answered ${status}: ${error.message}`, {
      cause: error,
      retryAfterMs: retryAfterMs(error.headers?.["retry-after"]),
    });
  }
  return new PermanentError("stripe_request_failed", error.message, { cause: error });
}

function retryAfterMs(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : undefined;
}

/** The Stripe Idempotency-Key of one step of a command: stable across redeliveries and replays. */
export function idempotencyKey(commandId: string, step: string): string {
  // Stripe allows 255 characters; long command ids are hashed to stay within it.
  const id =
    commandId.length <= 200 ? commandId : `sha256-${createHash("sha256").update(commandId).digest("hex")}`;
  return `billing:${id}:${step}`;
}
