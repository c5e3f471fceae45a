import { type RawMessage, readMessage } from "../../lib/amqp/inbound-message.ts";
import type { Db } from "../../lib/db/database.ts";
import type { Logger } from "../../lib/log.ts";
import { applyBatch, type EventOutcome } from "../../lib/worker/apply-batch.ts";
import { testLogger } from "../helpers/config.ts";

// Applies Stripe messages the way the worker does, minus the broker: the delivery is read once
// (readMessage, which refuses what can never apply), then the production applyBatch.

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
export function stripeMessage(event: Json, overrides: { id?: string; body?: Buffer } = {}): RawMessage {
  const type = String(event.type);
  return {
    messageId: overrides.id ?? String(event.id),
    type,
    routingKey: `stripe.${type}`,
    headers: { "x-source": "stripe" },
    body: overrides.body ?? Buffer.from(JSON.stringify(event, null, 2)),
  };
}

export interface Applier {
  /** One message in its own batch: "applied" / "duplicate", or throws the error that refused it. */
  apply(message: RawMessage): Promise<"applied" | "duplicate">;
  /** Messages in one batch (one transaction): their outcomes in order. */
  applyBatch(messages: readonly RawMessage[]): Promise<EventOutcome[]>;
}

const log: Logger = testLogger("apply");

/** An applier on `db`: what one worker does with messages, minus the broker. */
export function applier(db: Db): Applier {
  const read = (message: RawMessage) => {
    // any publisher: what is tested here is applying, not who may publish (test/amqp/publisher-trust.test.ts)
    const result = readMessage(message, "any");
    if (result.message === undefined) throw result.refusal;
    if (result.message.kind !== "stripe-event") throw new Error("not a Stripe event message");
    return result.message;
  };
  return {
    async apply(message) {
      const [outcome] = await applyBatch({ db, log }, [read(message)]);
      if (outcome === undefined) throw new Error("no outcome");
      if (outcome.status === "refused") throw outcome.error;
      return outcome.status;
    },
    async applyBatch(messages) {
      return applyBatch({ db, log }, messages.map(read));
    },
  };
}

/** Applies each event once, in the given order, one per transaction. */
export async function applyAll(target: Applier, events: readonly Json[]): Promise<void> {
  for (const event of events) await target.apply(stripeMessage(event));
}
