import { type DomainEventType, domainEvent } from "../domain/domain-events.ts";
import type { StripeEvent } from "../domain/stripe-event.ts";
import type { HandlerContext } from "./context.ts";
import { emit } from "./emit.ts";

/** What a Stripe event handler gets: the consumer's context and the parsed event. */
export interface StripeEventContext extends HandlerContext {
  readonly event: StripeEvent;
}

/** Applies one Stripe event in `context.trx`, or throws a Transient/PermanentError. */
export type StripeEventHandler = (context: StripeEventContext) => Promise<void>;

/**
 * Writes the domain event `type` caused by `sourceId` to the outbox. The id derives from
 * (sourceId, type) only, so a redelivery, or another Stripe event for the same change, adds nothing.
 */
export async function emitFromStripeEvent(
  context: StripeEventContext,
  type: DomainEventType,
  sourceId: string,
  data: Record<string, unknown>,
): Promise<void> {
  const { trx, event, message, deferred } = context;
  const domain = domainEvent({
    type,
    sourceId,
    correlationId: message.id,
    // Stripe's time of the change, not ours: a retried message rebuilds the same body
    occurredAt: new Date(event.created * 1000),
    data,
  });
  if (deferred === undefined) await emit(trx, domain);
  else deferred.outbox.push(domain);
}
