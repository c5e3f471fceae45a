import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pRetry from "p-retry";
import Stripe from "stripe";
import { defaults } from "../config.ts";
import { type BackoffSettings, backoffMs } from "../domain/backoff.ts";
import { PermanentError, TransientError } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import { stripeRateLimited, stripeRequests } from "../metrics/registry.ts";
import { createRequestBudget, type Priority, type RequestBudget } from "./request-budget.ts";

// The one module that talks to the Stripe API. Every request first waits for a token of the
// process's request budget (STRIPE_RATE_LIMIT). Connection errors, 5xx, 429 and unreadable answers
// are transient and retried here a few times (honouring Retry-After); other 4xx are permanent with
// Stripe's message. A 429 also pauses the whole budget. The stripe package's own retries are off
// so that every retry carries our idempotency key and our classification.

export interface StripeApi {
  /** The raw client, for requests; always call it through `call`. */
  readonly client: Stripe;
  /** Runs one Stripe request with classification and retries; `what` names it in logs. */
  call<T>(what: string, request: (client: Stripe) => Promise<T>, options?: CallOptions): Promise<T>;
}

export interface CallOptions {
  /** `command` (default) goes before `background` in the request budget. */
  readonly priority?: Priority;
  /**
   * Patient calls (background work) retry every transient failure, 429s included, with backoff
   * until they succeed, fail permanently, or `signal` aborts; others retry a few times and throw.
   */
  readonly patient?: boolean;
  readonly signal?: AbortSignal;
}

/** Requests per second when no budget is given: STRIPE_RATE_LIMIT's default. */
export const defaultStripeRatePerSecond = Number(defaults.STRIPE_RATE_LIMIT);

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
  /** The process's shared request budget; a budget of its own at the default rate when omitted. */
  budget?: RequestBudget;
  /** Backoff of patient calls: exponential from baseMs unless Stripe says Retry-After, capped at maxMs. */
  patientBackoff?: BackoffSettings;
}

const defaultPatientBackoff: BackoffSettings = Object.freeze({ baseMs: 250, maxMs: 60_000 });

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
  const budget = options.budget ?? createRequestBudget(defaultStripeRatePerSecond);
  const patientBackoff = options.patientBackoff ?? defaultPatientBackoff;

  /** One request through the budget, classified and counted; a 429 pauses the whole budget. */
  async function attempt<T>(
    request: (client: Stripe) => Promise<T>,
    priority: Priority,
    signal: AbortSignal | undefined,
    rateLimitedWaitMs: (error: TransientError) => number,
  ): Promise<T> {
    await budget.acquire(priority, signal);
    try {
      const result = await request(client);
      stripeRequests.inc({ outcome: "ok" });
      return result;
    } catch (error) {
      const classified = classifyStripeError(error);
      stripeRequests.inc({ outcome: classified.kind === "permanent" ? "client_error" : "retryable" });
      if (classified instanceof TransientError && classified.code === "stripe_rate_limited") {
        stripeRateLimited.inc({ priority });
        budget.pause(rateLimitedWaitMs(classified));
      }
      throw classified;
    }
  }

  async function patientCall<T>(
    what: string,
    request: (client: Stripe) => Promise<T>,
    priority: Priority,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    for (let failures = 1; ; failures++) {
      const waitFor = (error: TransientError) => backoffMs(failures, error.retryAfterMs, patientBackoff);
      try {
        return await attempt(request, priority, signal, waitFor);
      } catch (error) {
        if (!(error instanceof TransientError) || signal?.aborted) throw error;
        const waitMs = waitFor(error);
        log.warn(
          { request: what, attempt: failures, code: error.code, reason: error.message, retryInMs: waitMs },
          "Stripe call failed; retrying",
        );
        await sleep(waitMs, undefined, signal === undefined ? undefined : { signal });
      }
    }
  }

  return {
    client,
    async call(what, request, callOptions = {}) {
      const priority = callOptions.priority ?? "command";
      if (callOptions.patient === true) return patientCall(what, request, priority, callOptions.signal);
      return pRetry(
        () =>
          attempt(request, priority, callOptions.signal, (error) =>
            Math.min(error.retryAfterMs ?? 1000, maxInlineWaitMs),
          ),
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
  if (error.type === "StripeConnectionError") {
    return new TransientError("stripe_unavailable", `cannot reach Stripe: ${error.message}`, {
      cause: error,
    });
  }
  if (status === undefined) {
    // e.g. a body that is not JSON: Stripe (or something in between) answered garbage
    return new TransientError("stripe_unavailable", `unreadable answer from Stripe: ${error.message}`, {
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
