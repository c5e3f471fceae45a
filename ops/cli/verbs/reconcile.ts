import { stripeEventMessage } from "../../../lib/amqp/stripe-event-message.ts";
import { names } from "../../../lib/amqp/topology.ts";
import { stripeEventRetentionS } from "../../../lib/domain/reconcile-window.ts";
import { openBrokerSession } from "../../../lib/ops/broker-session.ts";
import { formatDuration } from "../../../lib/ops/duration.ts";
import { type PassResult, reconcilePass } from "../../../lib/reconcile/reconcile-pass.ts";
import { createStripeApi } from "../../../lib/stripe/client.ts";
import { createRequestBudget } from "../../../lib/stripe/request-budget.ts";
import { withDb } from "../ops-db.ts";
import { opsLogger } from "../ops-logger.ts";
import { durationOption, flag, noPositionals } from "../option-values.ts";
import { UsageError, type Verb } from "../verb.ts";

// Finds the Stripe events the fleet never applied (an ingester or broker outage longer than
// Stripe's retries, a webhook endpoint misconfigured) and enqueues them like the ingester would:
// one pass of the `reconciler` process's code (lib/reconcile/reconcile-pass.ts), from --since
// instead of the stored cursor, which it neither reads nor moves.

/** The x-source of a reconciled event: not "stripe", so that logs and dead letters tell the two paths apart. */
export const reconcileSource = "reconcile";

export const reconcile: Verb = {
  words: ["reconcile"],
  summary: "list events from the Stripe API and enqueue every one never applied",
  usage: "reconcile --since DURATION [--dry-run]",
  options: { since: { type: "string" }, "dry-run": { type: "boolean" } },
  help: [
    "  --since DURATION  how far back to list (30m, 12h, 3d; Stripe keeps events for 30 days)",
    "  --dry-run         count and list what would be enqueued; publish nothing",
    "",
    "Pages GET /v1/events (created >= now - DURATION) with STRIPE_SECRET_KEY (and STRIPE_API_URL).",
    "An event is skipped when billing.stripe_events or the inbox (processed_messages) has its id, or",
    "when it is a parked dead letter (fix and `dlq replay` those instead). Every other event is",
    "published to exchange `billing` as the ingester would (routing key stripe.<type>, messageId =",
    "event id, type, application/json, persistent, body = the event JSON), with x-source=reconcile.",
    "An event still queued when reconcile runs is enqueued twice; the inbox absorbs the copy.",
    "Keep DURATION inside the prune window (`prune --older-than`): older events may have lost their",
    "inbox row and would be applied again (their effects are keyed, but it is noise).",
    "The `reconciler` process runs this pass by itself every RECONCILE_INTERVAL_S from its cursor;",
    "this verb is for a chosen window (e.g. after an outage), and leaves that cursor alone.",
  ].join("\n"),
  async run({ config, signal, progress }, values, positionals) {
    noPositionals(positionals);
    const since = durationOption(values, "since");
    if (since === undefined) throw new UsageError("needs --since DURATION (e.g. --since 3d)");
    const dryRun = flag(values, "dry-run");
    if (config.stripeSecretKey === undefined) {
      throw new Error("STRIPE_SECRET_KEY is not set: reconcile lists events from the Stripe API");
    }
    const log = opsLogger(config);
    const stripe = createStripeApi({
      secretKey: config.stripeSecretKey,
      apiUrl: config.stripeApiUrl,
      log,
      budget: createRequestBudget(config.stripeRateLimit),
    });
    const createdGte = Math.floor((Date.now() - since) / 1000);

    const result: PassResult = await withDb(config, async (db) => {
      const broker = dryRun
        ? undefined
        : await openBrokerSession(config.amqpUrl, { confirmTimeoutMs: config.publishTimeoutMs });
      try {
        return await reconcilePass(
          {
            stripe,
            db,
            log,
            signal,
            publish:
              broker === undefined
                ? undefined
                : (event) => {
                    // as the ingester publishes a webhook, but x-source; user_id is AMQP_URL's user,
                    // which must be among the workers' STRIPE_EVENT_PUBLISHERS
                    const message = stripeEventMessage({
                      eventId: event.id,
                      eventType: event.type,
                      source: reconcileSource,
                      userId: config.amqpUser,
                    });
                    return broker.publishConfirmed(
                      names.exchange,
                      message.routingKey,
                      Buffer.from(JSON.stringify(event)),
                      message.options,
                    );
                  },
            onPage: (counts) =>
              progress(
                `reconciling: ${counts.listed} listed, ${counts.enqueued} ${dryRun ? "missing" : "enqueued"}`,
              ),
          },
          // One-off: a Stripe that keeps failing ends the run with one line instead of waiting.
          { fromS: createdGte, patient: false },
        );
      } finally {
        await broker?.close();
      }
    });

    const { enqueuedIds: enqueued, parkedIds: parked, interrupted } = result;
    const counts = {
      listed: result.listed,
      alreadyApplied: result.alreadyApplied,
      parked: result.parked,
      enqueued: result.enqueued,
    };
    const verb = dryRun ? "would enqueue" : "enqueued";
    const lines = [
      ...(since > stripeEventRetentionS * 1000
        ? ["note: Stripe keeps events for 30 days; older ones cannot be listed"]
        : []),
      `listed ${counts.listed} event${counts.listed === 1 ? "" : "s"} created since ${new Date(createdGte * 1000).toISOString()} (${formatDuration(since)})`,
      `already applied: ${counts.alreadyApplied}`,
      ...(counts.parked > 0 ? [`parked dead letters (skipped, see dlq list): ${counts.parked}`] : []),
      `${verb}: ${counts.enqueued}${dryRun ? " (dry run: nothing published)" : ""}`,
      ...(enqueued.length > 0 && enqueued.length <= 50 ? [`${verb} ids: ${enqueued.join(", ")}`] : []),
      ...(interrupted
        ? ["interrupted: run it again to finish (what was enqueued is skipped or absorbed)"]
        : []),
    ];
    return {
      ok: !interrupted,
      lines,
      json: {
        dryRun,
        since: new Date(createdGte * 1000).toISOString(),
        ...counts,
        enqueuedIds: enqueued,
        parkedIds: parked,
        interrupted,
      },
    };
  },
};
