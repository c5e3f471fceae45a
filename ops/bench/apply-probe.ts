import { readMessage, type StripeEventMessage } from "../../lib/amqp/inbound-message.ts";
import { createDb } from "../../lib/db/database.ts";
import { createLogger } from "../../lib/log.ts";
import { applyBatch } from "../../lib/worker/apply-batch.ts";
import type { BenchEvent } from "./signed-events.ts";

// The apply path without the broker: the production applyBatch on messages read exactly as the
// worker reads them, `batchSize` per transaction over `connections` connections. The consumer and
// RabbitMQ are left out, so this is what the worker's own code costs against Postgres.

/** Events/s for one batch size. */
export interface BatchProbeResult {
  readonly batchSize: number;
  readonly connections: number;
  readonly events: number;
  readonly eventsPerS: number;
  /** Events the plan refused (e.g. a refund before its deposit); 0 for the bench's load. */
  readonly refused: number;
}

/** The worker's typed message for a bench event, as it arrives from the ingester. */
export function benchMessage(event: BenchEvent): StripeEventMessage {
  const read = readMessage(
    {
      messageId: event.id,
      type: event.type,
      routingKey: `stripe.${event.type}`,
      headers: { "x-source": "stripe" },
      body: Buffer.from(event.body),
    },
    "any",
  );
  if (read.message?.kind !== "stripe-event")
    throw new Error(`bench event ${event.id}: ${read.refusal?.message}`);
  return read.message;
}

/** Applies `events` through applyBatch, `batchSize` per transaction, over `connections` connections. */
export async function probeApply(options: {
  databaseUrl: string;
  events: readonly BenchEvent[];
  batchSize: number;
  connections: number;
}): Promise<BatchProbeResult> {
  const db = createDb({
    url: options.databaseUrl,
    poolSize: options.connections,
    applicationName: "billing-bench",
  });
  const log = createLogger({ level: "silent", name: "bench" });
  const messages = options.events.map(benchMessage);
  let next = 0;
  let refused = 0;
  const startedAt = performance.now();
  const lane = async () => {
    while (next < messages.length) {
      const batch = messages.slice(next, next + options.batchSize);
      next += options.batchSize;
      const outcomes = await applyBatch({ db, log }, batch);
      refused += outcomes.filter((o) => o.status === "refused").length;
    }
  };
  try {
    await Promise.all(Array.from({ length: options.connections }, lane));
  } finally {
    await db.destroy();
  }
  const seconds = (performance.now() - startedAt) / 1000;
  return {
    batchSize: options.batchSize,
    connections: options.connections,
    events: options.events.length,
    eventsPerS: options.events.length / seconds,
    refused,
  };
}
