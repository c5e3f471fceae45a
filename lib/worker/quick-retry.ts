import pRetry from "p-retry";
import { classifyDbError } from "../db/classify-error.ts";
import { errorCode, errorMessage, TransientError } from "../domain/errors.ts";
import { quickRetryOptions } from "../domain/retry-policy.ts";
import type { Logger } from "../log.ts";
import { dbDeadlocks } from "../metrics/registry.ts";

// Only a lost race in Postgres (a serialization failure, a deadlock) or a lost connection is worth
// a second transaction right away; a slow Stripe has its own quick retries in the Stripe client,
// and a message that is early needs the delayed ladder.
const quickRetryCodes: ReadonlySet<string> = new Set([
  "serialization_failure",
  "deadlock",
  "database_unavailable",
]);

/** Runs a transaction, classifying what Postgres throws and retrying races and lost connections a few times. */
export function withQuickRetries<T>(log: Logger, transaction: () => Promise<T>): Promise<T> {
  return pRetry(
    async () => {
      try {
        return await transaction();
      } catch (error) {
        const classified = classifyDbError(error);
        if (errorCode(classified) === "deadlock") dbDeadlocks.inc();
        throw classified;
      }
    },
    {
      ...quickRetryOptions,
      shouldRetry: ({ error }) => error instanceof TransientError && quickRetryCodes.has(error.code),
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        log.debug(
          { code: errorCode(error), reason: errorMessage(error), try: attemptNumber, retriesLeft },
          "transaction failed",
        );
      },
    },
  );
}
