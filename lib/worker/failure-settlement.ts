import type { ConsumeMessage } from "amqplib";
import type { PublishCopy } from "../amqp/confirmed-publish.ts";
import type { DeliverySession } from "../amqp/delivery-session.ts";
import { deadLetterCopy, maxReturns, retryCopy, returnCopy, returnCount } from "../amqp/failure-copies.ts";
import type { DeliveryFacts } from "../amqp/inbound-message.ts";
import { isDatabaseOutage } from "../db/classify-error.ts";
import { errorKind, errorMessage } from "../domain/errors.ts";
import { decide } from "../domain/retry-policy.ts";
import type { Logger } from "../log.ts";
import type { OutcomeReport } from "./outcome-report.ts";

// What happens to a delivery whose message did not apply: a copy is published and confirmed
// (to a retry queue, to the dead letters, or back to billing_queue when the database was down),
// THEN the delivery is acked. A copy that cannot be published means a requeue; a channel that is
// gone means the broker redelivers. Nothing here ever acks before the copy is safe.

/** Where a delivery is settled: its own channel's session, and that channel's confirmed publish. */
export interface SettlementChannel {
  readonly session: DeliverySession;
  readonly publish: PublishCopy;
}

/** Settles one failed delivery; never throws (the delivery stays unsettled, and is redelivered, on a bug). */
export type SettleFailure = (
  channel: SettlementChannel,
  delivery: ConsumeMessage,
  facts: DeliveryFacts,
  error: unknown,
) => Promise<void>;

/** The failure path of a consumer. */
export function failureSettlement(deps: {
  report: OutcomeReport;
  log: Logger;
  retryDelaysMs: readonly number[];
  /** The worker's broker user: its copies carry it as user_id. */
  self: string;
  /** True with a database gate: an outage gives the message back instead of spending an attempt. */
  givesBack: boolean;
  stopping: () => boolean;
}): SettleFailure {
  const { report } = deps;

  /**
   * The database was unavailable, not the message wrong: back to billing_queue as a fresh copy
   * (x-attempts unchanged). Never a requeue: a quorum queue counts those towards
   * x-delivery-limit, and an outage must not park anything.
   */
  async function giveBack(
    channel: SettlementChannel,
    delivery: ConsumeMessage,
    facts: DeliveryFacts,
    error: unknown,
  ): Promise<void> {
    try {
      await channel.publish(returnCopy(delivery, deps.self));
    } catch (publishError) {
      const requeued = channel.session.requeue(delivery);
      report.report(requeued ? "requeued" : "abandoned", facts, { error, publishError });
      return;
    }
    if (!channel.session.ack(delivery)) {
      report.report("abandoned", facts, { error, note: "a copy was given back too" });
    } else report.report("returned", facts, { error });
  }

  return async (channel, delivery, facts, error) => {
    const { session } = channel;
    try {
      if (!session.open || (deps.stopping() && errorKind(error) === "transient")) {
        // The channel is gone, or we are shutting down (and the failure may be ours): leave it to a
        // redelivery rather than spend a retry step on it.
        report.report("abandoned", facts, { error });
        return;
      }
      if (deps.givesBack && isDatabaseOutage(error) && returnCount(delivery) < maxReturns) {
        await giveBack(channel, delivery, facts, error);
        return;
      }
      const decision = decide(error, facts.attempt, deps.retryDelaysMs);
      const copy =
        decision.action === "retry"
          ? retryCopy(delivery, facts.attempt, decision.queue, error, deps.self)
          : deadLetterCopy(delivery, facts.attempt, decision.kind, error, new Date(), deps.self);
      try {
        await channel.publish(copy);
      } catch (publishError) {
        // Not parked anywhere: put it back. The queue's delivery limit bounds how often this repeats.
        const requeued = session.requeue(delivery);
        report.report(requeued ? "requeued" : "abandoned", facts, { error, publishError });
        return;
      }
      // If this ack is lost, both the copy and a redelivery exist: the inbox absorbs the second.
      if (!session.ack(delivery))
        report.report("abandoned", facts, { error, note: "a copy was published too" });
      else if (decision.action === "retry")
        report.report("retried", facts, { error, delayMs: decision.delayMs });
      else report.report("dead-lettered", facts, { error, kind: decision.kind });
    } catch (unexpected) {
      // Nothing above should throw; if it does the delivery stays unsettled and is redelivered.
      deps.log.error(
        { messageId: facts.messageId, reason: errorMessage(unexpected) },
        "consumer failed on a delivery",
      );
    }
  };
}
