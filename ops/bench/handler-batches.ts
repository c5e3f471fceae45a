import { createDb, type Db } from "../../lib/db/database.ts";
import type { InboundMessage } from "../../lib/handlers/context.ts";
import { handleStripeEvent } from "../../lib/handlers/stripe-event.ts";
import { createLogger } from "../../lib/log.ts";
import { createStripeApi } from "../../lib/stripe/client.ts";
import type { BenchEvent } from "./signed-events.ts";

// The question "is one transaction per batch of messages worth building?" asked of Postgres alone:
// the real Stripe event handler and inbox insert, in-process with no broker, committing one event
// per transaction or a batch per transaction. The consumer is not involved, so this bounds what
// batching can gain on the database side.

/** Events/s for one batch size. */
export interface BatchProbeResult {
  readonly batchSize: number;
  readonly connections: number;
  readonly events: number;
  readonly eventsPerS: number;
  readonly deadlockRetries: number;
}

/** Applies `events` through the handler, `batchSize` per transaction, over `connections` connections. */
export async function probeHandlerBatches(options: {
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
  // event handlers never call Stripe; the client exists because the context type carries one
  const stripe = createStripeApi({ secretKey: "sk_test_bench", apiUrl: "http://127.0.0.1:9", log });
  const batches: BenchEvent[][] = [];
  for (let i = 0; i < options.events.length; i += options.batchSize) {
    // one lock order for every transaction (by account), as a batching consumer would need
    batches.push(
      options.events.slice(i, i + options.batchSize).sort((a, b) => a.accountId.localeCompare(b.accountId)),
    );
  }
  let next = 0;
  let deadlockRetries = 0;
  const startedAt = performance.now();
  const lane = async () => {
    while (next < batches.length) {
      const batch = batches[next] as BenchEvent[];
      next += 1;
      for (;;) {
        try {
          await applyBatch(db, batch, log, stripe);
          break;
        } catch (error) {
          if ((error as { code?: string }).code !== "40P01") throw error;
          deadlockRetries += 1;
        }
      }
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
    deadlockRetries,
  };
}

async function applyBatch(
  db: Db,
  batch: readonly BenchEvent[],
  log: ReturnType<typeof createLogger>,
  stripe: ReturnType<typeof createStripeApi>,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const event of batch) {
      const inserted = await trx
        .insertInto("processed_messages")
        .values({ message_id: event.id })
        .onConflict((oc) => oc.column("message_id").doNothing())
        .returning("message_id")
        .executeTakeFirst();
      if (inserted === undefined) continue;
      const message: InboundMessage = {
        id: event.id,
        type: "payment_intent.succeeded",
        routingKey: "stripe.payment_intent.succeeded",
        body: Buffer.from(event.body),
        headers: { "x-source": "stripe" },
        source: "stripe",
        attempt: 0,
      };
      await handleStripeEvent({ trx, message, log, stripe });
    }
  });
}
