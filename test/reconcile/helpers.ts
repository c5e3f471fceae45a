import type Stripe from "stripe";
import type { Running } from "../../lib/lifecycle.ts";
import { createLogger, type Logger } from "../../lib/log.ts";
import type { TickOutcome } from "../../lib/reconcile/reconciler.ts";
import { startReconcilerProcess } from "../../workers/reconciler.ts";
import type { Fleet } from "../commands/fleet-harness.ts";
import { testConfig, testLogger } from "../helpers/config.ts";

// The reconciler as its composition root builds it, against a fleet of the end-to-end harness,
// with a 1 s interval and short Stripe timeouts and backoff so that a test takes seconds.

export type StartedReconciler = Running & {
  readonly reconciler: { isActive(): boolean; outcomes(): readonly TickOutcome[] };
};

/** Starts one in-process reconciler on the fleet's database, vhost and emulator. */
export function startTestReconciler(
  fleet: Fleet,
  log: Logger = testLogger("reconciler"),
): Promise<StartedReconciler> {
  const config = testConfig("reconciler", {
    databaseUrl: fleet.database.url,
    amqpUrl: fleet.vhost.url,
    STRIPE_API_URL: fleet.emulator.url,
    RECONCILE_INTERVAL_S: "1",
  });
  return startReconcilerProcess(config, log, { timeoutMs: 500, patientBackoff: { baseMs: 20, maxMs: 200 } });
}

/** A logger whose lines are kept (parsed) for assertions. */
export function capturingLogger(level: "info" | "warn" = "info"): {
  log: Logger;
  lines: Array<Record<string, unknown>>;
} {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({
    level,
    name: "reconciler",
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { log, lines };
}

/** Confirmed deposits for an account: three events each, payment_intent.succeeded credits `amount`. */
export async function deposits(stripe: Stripe, accountId: string, amounts: readonly number[]): Promise<void> {
  for (const amount of amounts) {
    await stripe.paymentIntents.create({
      amount,
      currency: "usd",
      confirm: true,
      metadata: { account_id: accountId },
    });
  }
}

/** The ids of every event a reconciler enqueued in its successful passes. */
export function reconciledIds(outcomes: readonly TickOutcome[]): string[] {
  return outcomes.flatMap((outcome) => (outcome.kind === "ok" ? outcome.pass.enqueuedIds : []));
}
