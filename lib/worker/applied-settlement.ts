import type { ConsumeMessage } from "amqplib";
import type { CommandMessage, DeliveryFacts, StripeEventMessage } from "../amqp/inbound-message.ts";
import { errorCode, errorMessage } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import { batchSplits } from "../metrics/registry.ts";
import type { EventOutcome } from "./apply-batch.ts";
import type { SettleFailure, SettlementChannel } from "./failure-settlement.ts";
import type { OutcomeReport } from "./outcome-report.ts";

// The success path of a consumer: apply, and only once the apply committed, ack. Stripe events go
// in batches (one ack frame for a batch when it can be), a batch that fails as a whole is applied
// in halves until the message at fault is alone; commands go one at a time. Whatever did not apply
// goes to the failure path (failure-settlement.ts).

/** A delivery, its facts read once, and its typed message. */
export interface Taken<M> {
  readonly delivery: ConsumeMessage;
  readonly facts: DeliveryFacts;
  readonly message: M;
}

/** What applies messages: Stripe events in batches, commands one at a time. */
export interface Appliers {
  /** Applies events in one transaction; their outcomes in order once it committed, or throws for all. */
  events(messages: readonly StripeEventMessage[]): Promise<readonly EventOutcome[]>;
  /** Applies one command in its own transaction; resolves once it committed. */
  command(message: CommandMessage): Promise<"applied" | "duplicate">;
}

interface SettlementDeps {
  readonly appliers: Appliers;
  readonly report: OutcomeReport;
  readonly settleFailure: SettleFailure;
  readonly log: Logger;
}

/** Applies and settles a batch of Stripe events; never throws for a message's failure. */
export function eventBatchSettlement(
  deps: SettlementDeps,
): (channel: SettlementChannel, batch: readonly Taken<StripeEventMessage>[]) => Promise<void> {
  const { report, settleFailure, log } = deps;
  const failAll = (channel: SettlementChannel, batch: readonly Taken<unknown>[], error: unknown) =>
    Promise.all(batch.map((taken) => settleFailure(channel, taken.delivery, taken.facts, error)));

  /**
   * Applies a batch; when it fails as a whole, splits it in halves until the message at fault is
   * alone, so a poison message costs its neighbours a few more transactions, never their effect.
   */
  async function applyOrSplit(
    channel: SettlementChannel,
    batch: readonly Taken<StripeEventMessage>[],
  ): Promise<void> {
    const started = performance.now();
    let outcomes: readonly EventOutcome[];
    try {
      outcomes = await deps.appliers.events(batch.map((taken) => taken.message));
    } catch (error) {
      // an unreachable database fails every half alike: nothing to isolate
      if (batch.length === 1 || errorCode(error) === "database_unavailable") {
        await failAll(channel, batch, error);
        return;
      }
      batchSplits.inc();
      log.warn({ size: batch.length, reason: errorMessage(error) }, "batch failed; applying it in halves");
      const half = Math.ceil(batch.length / 2);
      await applyOrSplit(channel, batch.slice(0, half));
      await applyOrSplit(channel, batch.slice(half));
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    const committed: Committed[] = [];
    const refused: Array<{ taken: Taken<StripeEventMessage>; error: unknown }> = [];
    batch.forEach((taken, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) throw new Error(`no outcome for message ${i} of a batch of ${batch.length}`);
      if (outcome.status === "refused") refused.push({ taken, error: outcome.error });
      else committed.push({ taken, outcome: outcome.status });
    });
    ackCommitted(channel, committed, seconds);
    await Promise.all(
      refused.map(({ taken, error }) => settleFailure(channel, taken.delivery, taken.facts, error)),
    );
  }

  /** The acks after a commit: one frame for the batch when it can be. */
  function ackCommitted(channel: SettlementChannel, committed: readonly Committed[], seconds: number): void {
    if (committed.length === 0) return;
    const durationMs = Math.round(seconds * 1000);
    if (!channel.session.ackAll(committed.map(({ taken }) => taken.delivery))) {
      for (const { taken, outcome } of committed) reportUnacked(report, taken.facts, outcome, durationMs);
    } else if (committed.length === 1) {
      const [only] = committed;
      if (only !== undefined) report.report(only.outcome, only.taken.facts, { durationMs });
    } else {
      report.batch(
        committed.map(({ taken, outcome }) => ({ facts: taken.facts, outcome })),
        seconds,
      );
    }
  }

  return applyOrSplit;
}

/** Applies and settles one command; never throws for its failure. */
export function commandSettlement(
  deps: SettlementDeps,
): (channel: SettlementChannel, taken: Taken<CommandMessage>) => Promise<void> {
  return async (channel, taken) => {
    const started = performance.now();
    let result: "applied" | "duplicate";
    try {
      result = await deps.appliers.command(taken.message);
    } catch (error) {
      await deps.settleFailure(channel, taken.delivery, taken.facts, error);
      return;
    }
    const durationMs = Math.round(performance.now() - started);
    if (channel.session.ack(taken.delivery)) deps.report.report(result, taken.facts, { durationMs });
    else reportUnacked(deps.report, taken.facts, result, durationMs);
  };
}

interface Committed {
  readonly taken: Taken<StripeEventMessage>;
  readonly outcome: "applied" | "duplicate";
}

// Committed, but the channel closed before the ack: the broker redelivers, the inbox absorbs it.
function reportUnacked(
  report: OutcomeReport,
  facts: DeliveryFacts,
  outcome: "applied" | "duplicate",
  durationMs: number,
): void {
  report.report("abandoned", facts, { durationMs, note: `${outcome}; the redelivery will be a duplicate` });
}
