import type Stripe from "stripe";
import { stripeEventMessage } from "../../lib/amqp/stripe-event-message.ts";
import { names } from "../../lib/amqp/topology.ts";
import type { Db } from "../../lib/db/database.ts";
import { createStripeApi } from "../../lib/stripe/client.ts";
import { inboxKey } from "../../lib/worker/apply-message.ts";
import { type BrokerSession, openBrokerSession } from "../broker-session.ts";
import { formatDuration } from "../duration.ts";
import { withDb } from "../ops-db.ts";
import { opsLogger } from "../ops-logger.ts";
import { durationOption, flag, noPositionals } from "../option-values.ts";
import { UsageError, type Verb } from "../verb.ts";

// Finds the Stripe events the fleet never applied (an ingester or broker outage longer than
// Stripe's retries, a webhook endpoint misconfigured) and enqueues them like the ingester would.

/** The x-source of a reconciled event: not "stripe", so that logs and dead letters tell the two paths apart. */
export const reconcileSource = "reconcile";

// Stripe keeps events for 30 days; an older --since lists what is left.
const stripeEventRetentionMs = 30 * 86_400_000;

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
    "event id, type, application/json, persistent, body = the event JSON), with x-source=reconcile",
    "and user_id = AMQP_URL's user (which must be in the workers' STRIPE_EVENT_PUBLISHERS).",
    "An event still queued when reconcile runs is enqueued twice; the inbox absorbs the copy.",
    "Keep DURATION inside the prune window (`prune --older-than`): older events may have lost their",
    "inbox row and would be applied again (their effects are keyed, but it is noise).",
  ].join("\n"),
  async run({ config, signal, progress }, values, positionals) {
    noPositionals(positionals);
    const since = durationOption(values, "since");
    if (since === undefined) throw new UsageError("needs --since DURATION (e.g. --since 3d)");
    const dryRun = flag(values, "dry-run");
    if (config.stripeSecretKey === undefined) {
      throw new Error("STRIPE_SECRET_KEY is not set: reconcile lists events from the Stripe API");
    }
    const stripe = createStripeApi({
      secretKey: config.stripeSecretKey,
      apiUrl: config.stripeApiUrl,
      log: opsLogger(config),
    });
    const createdGte = Math.floor((Date.now() - since) / 1000);
    const counts = { listed: 0, alreadyApplied: 0, parked: 0, enqueued: 0 };
    const enqueued: string[] = [];
    const parked: string[] = [];
    let interrupted = false;

    await withDb(config, async (db) => {
      const broker = dryRun
        ? undefined
        : await openBrokerSession(config.amqpUrl, { confirmTimeoutMs: config.publishTimeoutMs });
      try {
        let startingAfter: string | undefined;
        const seen = new Set<string>();
        for (;;) {
          if (signal.aborted) {
            interrupted = true;
            break;
          }
          const page: Stripe.ApiList<Stripe.Event> = await stripe.call("events.list", (client) =>
            client.events.list({
              created: { gte: createdGte },
              limit: 100,
              ...(startingAfter === undefined ? {} : { starting_after: startingAfter }),
            }),
          );
          const fresh = page.data.filter((event) => !seen.has(event.id));
          for (const event of fresh) seen.add(event.id);
          counts.listed += fresh.length;
          const known = await knownEvents(db, fresh);
          // Pages are newest first; within a page, enqueue oldest first.
          for (const event of [...fresh].reverse()) {
            const state = known.get(event.id);
            if (state === "applied") counts.alreadyApplied += 1;
            else if (state === "parked") {
              counts.parked += 1;
              parked.push(event.id);
            } else {
              if (signal.aborted) {
                interrupted = true;
                break;
              }
              if (broker !== undefined) await enqueue(broker, event, config.amqpUser);
              counts.enqueued += 1;
              enqueued.push(event.id);
              progress(
                `reconciling: ${counts.listed} listed, ${counts.enqueued} ${dryRun ? "missing" : "enqueued"}`,
              );
            }
          }
          const last = page.data.at(-1);
          if (interrupted || !page.has_more || last === undefined) break;
          startingAfter = last.id;
        }
      } finally {
        await broker?.close();
      }
    });

    const verb = dryRun ? "would enqueue" : "enqueued";
    const lines = [
      ...(since > stripeEventRetentionMs
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

/** Which of these events were applied (stripe_events or the inbox) or are parked as dead letters. */
async function knownEvents(db: Db, events: Stripe.Event[]): Promise<Map<string, "applied" | "parked">> {
  const known = new Map<string, "applied" | "parked">();
  if (events.length === 0) return known;
  const ids = events.map((event) => event.id);
  const parked = await db
    .selectFrom("dead_letters")
    .select("message_id")
    .where("status", "=", "parked")
    .where("message_id", "in", ids)
    .execute();
  for (const row of parked) if (row.message_id !== null) known.set(row.message_id, "parked");
  // The inbox keys a Stripe event its own way (the worker's inboxKey): ask for exactly those keys.
  const byKey = new Map(events.map((event) => [stripeInboxKey(event), event.id]));
  const audited = await db
    .selectFrom("stripe_events")
    .select("event_id")
    .where("event_id", "in", ids)
    .execute();
  const inbox = await db
    .selectFrom("processed_messages")
    .select("message_id")
    .where("message_id", "in", [...byKey.keys()])
    .execute();
  for (const row of audited) known.set(row.event_id, "applied");
  for (const row of inbox) known.set(byKey.get(row.message_id) ?? row.message_id, "applied");
  return known;
}

function stripeInboxKey(event: Stripe.Event): string {
  return inboxKey({
    id: event.id,
    type: event.type,
    routingKey: `stripe.${event.type}`,
    body: Buffer.alloc(0),
    headers: {},
    source: reconcileSource,
    attempt: 0,
  });
}

/** Publishes one event exactly as the Contract's webhook message, except x-source; `userId` as the ingester sets it. */
async function enqueue(broker: BrokerSession, event: Stripe.Event, userId: string): Promise<void> {
  const message = stripeEventMessage({
    eventId: event.id,
    eventType: event.type,
    source: reconcileSource,
    userId,
  });
  await broker.publishConfirmed(
    names.exchange,
    message.routingKey,
    Buffer.from(JSON.stringify(event)),
    message.options,
  );
}
