import type { Db } from "../../lib/db/database.ts";
import type { InboundMessage } from "../../lib/handlers/context.ts";
import { handleStripeEvent } from "../../lib/handlers/stripe-event.ts";
import type { Logger } from "../../lib/log.ts";
import { createStripeApi, type StripeApi } from "../../lib/stripe/client.ts";
import { testLogger, testSecrets } from "../helpers/config.ts";

// Applies Stripe messages the way the consumer does: inbox row + handler in ONE transaction, commit,
// and a message already in the inbox is a duplicate with no effect. (Switch to the worker's
// applyMessage with dispatch once lib/worker/apply-message.ts and the command side have landed.)

type Json = Record<string, unknown>;

let sequence = 0;

/** A Stripe event envelope around `object`, shaped as Stripe sends it; a fresh id unless given. */
export function stripeEvent(type: string, created: number, object: Json, id?: string): Json {
  sequence += 1;
  return {
    id: id ?? `evt_test${String(sequence).padStart(6, "0")}${Math.random().toString(36).slice(2, 10)}`,
    object: "event",
    api_version: "2025-08-27.basil",
    created,
    data: { object: structuredClone(object) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

/** A billing_queue message carrying `event` exactly as the ingester publishes a webhook. */
export function stripeMessage(event: Json, overrides: Partial<InboundMessage> = {}): InboundMessage {
  const type = String(event.type);
  return {
    id: String(event.id),
    type,
    routingKey: `stripe.${type}`,
    body: Buffer.from(JSON.stringify(event, null, 2)),
    headers: { "x-source": "stripe" },
    source: "stripe",
    attempt: 0,
    ...overrides,
  };
}

export interface Applier {
  apply(message: InboundMessage): Promise<"applied" | "duplicate">;
}

const log: Logger = testLogger("handlers");
// The real client, never called by event handlers; it points nowhere so a call would fail loudly.
const stripe: StripeApi = createStripeApi({
  secretKey: testSecrets.stripeKey,
  apiUrl: "http://127.0.0.1:9",
  log,
  retries: 0,
});

/** An applier on `db`: what one worker does with one message, minus the broker. */
export function applier(db: Db): Applier {
  return {
    apply: (message) =>
      db.transaction().execute(async (trx) => {
        const fresh = await trx
          .insertInto("processed_messages")
          .values({ message_id: message.id })
          .onConflict((oc) => oc.column("message_id").doNothing())
          .returning("message_id")
          .executeTakeFirst();
        if (fresh === undefined) return "duplicate";
        await handleStripeEvent({ trx, message, log: log.child({ messageId: message.id }), stripe });
        return "applied";
      }),
  };
}

/** Applies each event once, in the given order. */
export async function applyAll(target: Applier, events: readonly Json[]): Promise<void> {
  for (const event of events) await target.apply(stripeMessage(event));
}
