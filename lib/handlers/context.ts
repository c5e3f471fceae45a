import type { Insertable, Transaction } from "kysely";
import type { Database } from "../db/schema/database.ts";
import type { StripeEventsTable } from "../db/schema/stripe-events.ts";
import type { DomainEvent } from "../domain/domain-events.ts";
import type { Logger } from "../log.ts";
import type { StripeApi } from "../stripe/client.ts";

/** One message taken from billing_queue, as the handlers see it. */
export interface InboundMessage {
  /** The message id: a Stripe event id, or a command id. */
  readonly id: string;
  /** properties.type: the Stripe event type or the command type. */
  readonly type: string;
  /** The routing key it was first published with (kept across retries in x-routing-key). */
  readonly routingKey: string;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, unknown>>;
  /** The x-source header: "stripe", or the sending service's name. */
  readonly source: string | undefined;
  /** How many delayed retries it already had (our x-attempts header; 0 on a first delivery). */
  readonly attempt: number;
}

/** What a handler gets: the transaction that also holds the inbox row, and nothing of the broker. */
export interface HandlerContext {
  readonly trx: Transaction<Database>;
  readonly message: InboundMessage;
  readonly log: Logger;
  /** The Stripe API client (commands call Stripe; event handlers never do). */
  readonly stripe: StripeApi;
  /**
   * When given, Stripe event handlers collect their audit rows and domain events here and the
   * caller writes each kind in one statement before the commit; else each is written at once.
   * Round trips are most of what applying an event costs.
   */
  readonly deferred?: DeferredRows;
}

/** Append-only rows that nothing reads back in the transaction, written once per batch. */
export interface DeferredRows {
  readonly stripeEvents: Insertable<StripeEventsTable>[];
  readonly outbox: DomainEvent[];
}

/** A handler returns when its effect is written in `trx`, or throws a Transient/PermanentError. */
export type Handler = (context: HandlerContext) => Promise<void>;
