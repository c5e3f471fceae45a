import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

// Every metric of the project is defined here, on one registry, so that the alert rules and the
// dashboard can be checked against one list.

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const registers = [registry];
const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// ingester
export const httpRequests = new Counter({
  name: "billing_http_requests_total",
  help: "HTTP requests answered by the ingester, by route and status.",
  labelNames: ["route", "status"] as const,
  registers,
});
export const httpInFlight = new Gauge({
  name: "billing_http_in_flight_requests",
  help: "HTTP requests being handled by the ingester right now.",
  registers,
});
export const enqueueDuration = new Histogram({
  name: "billing_enqueue_duration_seconds",
  help: "Time from publish to the broker's confirm, by route and outcome.",
  labelNames: ["route", "outcome"] as const,
  buckets: latencyBuckets,
  registers,
});
export const httpRefusals = new Counter({
  name: "billing_http_refusals_total",
  help: "Requests the ingester refused (4xx/5xx), by route and reason (e.g. bad_signature, broker_unavailable).",
  labelNames: ["route", "reason"] as const,
  registers,
});
export const webhookSignatureRejections = new Counter({
  name: "billing_webhook_signature_rejections_total",
  help: "Webhooks refused because the signature did not verify, by reason.",
  labelNames: ["reason"] as const,
  registers,
});

// worker
export const messagesConsumed = new Counter({
  name: "billing_messages_consumed_total",
  help: "Messages taken from billing_queue, by type.",
  labelNames: ["type"] as const,
  registers,
});
export const messagesAcked = new Counter({
  name: "billing_messages_acked_total",
  help: "Messages applied (or absorbed as duplicates) and acknowledged, by type.",
  labelNames: ["type"] as const,
  registers,
});
export const messagesDuplicate = new Counter({
  name: "billing_messages_duplicate_total",
  help: "Messages already in the inbox: acknowledged with no second effect, by type.",
  labelNames: ["type"] as const,
  registers,
});
export const messagesRetried = new Counter({
  name: "billing_messages_retried_total",
  help: "Messages sent to a delayed-retry queue, by type and error code.",
  labelNames: ["type", "code"] as const,
  registers,
});
export const messagesDeadLettered = new Counter({
  name: "billing_messages_dead_lettered_total",
  help: "Messages sent to the dead-letter queue, by type, error code and kind.",
  labelNames: ["type", "code", "kind"] as const,
  registers,
});
export const handlerDuration = new Histogram({
  name: "billing_handler_duration_seconds",
  help: "Time to apply one message (transaction included), by type and outcome.",
  labelNames: ["type", "outcome"] as const,
  buckets: latencyBuckets,
  registers,
});
export const batchSize = new Histogram({
  name: "billing_batch_size",
  help: "Stripe events applied per transaction.",
  buckets: [1, 5, 10, 25, 50, 100, 200, 300, 500, 1000],
  registers,
});
export const batchSplits = new Counter({
  name: "billing_batch_splits_total",
  help: "Batches that failed as a whole and were split in halves to isolate the message at fault.",
  registers,
});
export const dbDeadlocks = new Counter({
  name: "billing_db_deadlocks_total",
  help: "Transactions Postgres aborted as deadlocked (then retried); the lock order should keep this at 0.",
  registers,
});
export const messageAge = new Histogram({
  name: "billing_message_age_seconds",
  help: "Age of a message when a worker takes it (publish timestamp to consume).",
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
  registers,
});
export const unknownStripeEvents = new Counter({
  name: "billing_stripe_events_unhandled_total",
  help: "Stripe events of a type with no handler: acknowledged and audited, no effect.",
  labelNames: ["type"] as const,
  registers,
});
export const payments = new Counter({
  name: "billing_payments_total",
  help: "Payments reaching a final outcome, by outcome (succeeded, failed).",
  labelNames: ["outcome"] as const,
  registers,
});
export const paymentProcessing = new Histogram({
  name: "billing_payment_processing_seconds",
  help: "Time from PaymentIntent creation to its success or failure event.",
  buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 300, 3600, 86400],
  registers,
});
export const subscriptionsCreated = new Counter({
  name: "billing_subscriptions_created_total",
  help: "Subscriptions seen for the first time.",
  registers,
});
export const balanceUpdates = new Counter({
  name: "billing_balance_updates_total",
  help: "Ledger entries written, by direction (credit, debit) and kind.",
  labelNames: ["direction", "kind"] as const,
  registers,
});
export const commands = new Counter({
  name: "billing_commands_total",
  help: "Commands finished, by type and status (succeeded, failed).",
  labelNames: ["type", "status"] as const,
  registers,
});
export const stripeRequests = new Counter({
  name: "billing_stripe_requests_total",
  help: "Calls to the Stripe API, by outcome (ok, client_error, retryable).",
  labelNames: ["outcome"] as const,
  registers,
});
export const stripeRateLimited = new Counter({
  name: "billing_stripe_rate_limited_total",
  help: "Stripe API calls answered 429 (the whole process then pauses its Stripe calls), by priority.",
  labelNames: ["priority"] as const,
  registers,
});
export const deadLettersArchived = new Counter({
  name: "billing_dead_letters_archived_total",
  help: "Dead letters moved from billing_queue.dlq into billing.dead_letters.",
  registers,
});
export const queueDepth = new Gauge({
  name: "billing_queue_depth",
  help: "Messages ready in a queue, sampled by the worker.",
  labelNames: ["queue"] as const,
  registers,
});
export const queueConsumers = new Gauge({
  name: "billing_queue_consumers",
  help: "Consumers attached to a queue, sampled by the worker.",
  labelNames: ["queue"] as const,
  registers,
});

// relay
export const outboxPublished = new Counter({
  name: "billing_outbox_published_total",
  help: "Domain events published to billing.events and confirmed.",
  registers,
});
export const outboxPending = new Gauge({
  name: "billing_outbox_pending",
  help: "Outbox rows not yet published.",
  registers,
});
export const outboxLag = new Gauge({
  name: "billing_outbox_lag_seconds",
  help: "Age of the oldest unpublished outbox row (0 when none).",
  registers,
});

// reconciler
export const reconcileActive = new Gauge({
  name: "billing_reconcile_active",
  help: "1 while this reconciler holds the lock and is the active one, else 0 (a standby).",
  registers,
});
export const reconcileIntervalSeconds = new Gauge({
  name: "billing_reconcile_interval_seconds",
  help: "RECONCILE_INTERVAL_S of this reconciler: the time between passes.",
  registers,
});
export const reconcilePasses = new Counter({
  name: "billing_reconcile_passes_total",
  help: "Reconciliation passes finished, by outcome (ok, failed, interrupted).",
  labelNames: ["outcome"] as const,
  registers,
});
export const reconcilePages = new Counter({
  name: "billing_reconcile_pages_total",
  help: "Pages of GET /v1/events fetched by reconciliation.",
  registers,
});
export const reconcileEventsMissing = new Counter({
  name: "billing_reconcile_events_missing_total",
  help: "Stripe events reconciliation found never applied and enqueued (confirmed), by type.",
  labelNames: ["type"] as const,
  registers,
});
export const reconcileLastFoundMissing = new Gauge({
  name: "billing_reconcile_last_found_missing",
  help: "Events the last successful pass found never applied (0: no gap), as stored in the cursor.",
  registers,
});
export const reconcileLastSuccess = new Gauge({
  name: "billing_reconcile_last_success_timestamp_seconds",
  help: "Unix time the last reconciliation pass (of any instance) succeeded, as stored in the cursor; 0 if none.",
  registers,
});
export const reconcileCursorLag = new Gauge({
  name: "billing_reconcile_cursor_lag_seconds",
  help: "Seconds of Stripe's event history not yet checked: now minus the cursor (newest event listed or last pass start).",
  registers,
});
export const reconcileRetentionGap = new Gauge({
  name: "billing_reconcile_retention_gap_timestamp_seconds",
  help: "Unix time this reconciler last found its cursor older than Stripe's 30-day event retention; 0 if never.",
  registers,
});

// every process
export const brokerConnected = new Gauge({
  name: "billing_broker_connected",
  help: "1 while connected to RabbitMQ, else 0.",
  registers,
});
export const databaseUp = new Gauge({
  name: "billing_database_up",
  help: "1 when the last database check succeeded, else 0.",
  registers,
});
export const databasePaused = new Gauge({
  name: "billing_database_paused",
  help: "1 while this process holds its work back because PostgreSQL is unreachable or read-only, by process (worker, relay).",
  labelNames: ["process"] as const,
  registers,
});
export const databasePauses = new Counter({
  name: "billing_database_pauses_total",
  help: "Times this process paused its work on a database outage, by process.",
  labelNames: ["process"] as const,
  registers,
});
export const messagesReturned = new Counter({
  name: "billing_messages_returned_total",
  help: "Messages a worker gave back to billing_queue unapplied, without spending an attempt, because the database was unavailable.",
  labelNames: ["type"] as const,
  registers,
});
