import type { ConsumeMessage } from "amqplib";
import { confirmedPublish, type PublishCopy } from "../amqp/confirmed-publish.ts";
import { type Broker, openChannel } from "../amqp/connection.ts";
import { type DeliverySession, openDeliverySession } from "../amqp/delivery-session.ts";
import { ensureBillingTopology } from "../amqp/ensure-billing-topology.ts";
import { createInFlight } from "../amqp/in-flight.ts";
import {
  type CommandMessage,
  type DeliveryFacts,
  readDelivery,
  type StripeEventMessage,
} from "../amqp/inbound-message.ts";
import { names } from "../amqp/topology.ts";
import type { DatabaseGate } from "../db/database-gate.ts";
import { withDeadline } from "../deadline.ts";
import { errorCode, errorMessage } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import { batchSplits } from "../metrics/registry.ts";
import type { EventOutcome } from "./apply-batch.ts";
import { type Batcher, createBatcher } from "./batcher.ts";
import { failureSettlement } from "./failure-settlement.ts";
import { createLane } from "./lane.ts";
import { createOutcomeReport } from "./outcome-report.ts";

// The only place that acks, retries or dead-letters a billing_queue message, and only after the
// outcome is durable: the Postgres commit for an applied message, the broker's confirm for the
// retry or dead-letter copy. Each delivery is read once (readDelivery) into a typed message:
// Stripe events go to the batcher and are applied set-based, many per transaction; commands go
// one by one through a lane of their own, since they call Stripe inside their transaction.

/** What applies messages: Stripe events in batches, commands one at a time. */
export interface Appliers {
  /** Applies events in one transaction; their outcomes in order once it committed, or throws for all. */
  events(messages: readonly StripeEventMessage[]): Promise<readonly EventOutcome[]>;
  /** Applies one command in its own transaction; resolves once it committed. */
  command(message: CommandMessage): Promise<"applied" | "duplicate">;
}

export interface ConsumerOptions {
  readonly prefetch: number;
  /** Most Stripe events per transaction. */
  readonly batchSize: number;
  /**
   * Batches applied at once (default 1); while that many are busy, deliveries gather into bigger
   * ones. Two workers each with one batch in flight outran each with two (batches of deposits
   * share accounts, and a second batch only waits on the first's account locks), by the bench.
   */
  readonly batchesInFlight?: number;
  /** Commands applied at once (each holds a Postgres connection while Stripe answers). */
  readonly commandsInFlight?: number;
  readonly retryDelaysMs: readonly number[];
  /** How long a retry or dead-letter copy may wait for its confirm. */
  readonly publishTimeoutMs: number;
  /**
   * Broker users whose `stripe.*` messages are applied (anything else is dead-lettered at once),
   * and this consumer's own user, which its retry and dead-letter copies carry as user_id; it is
   * trusted too (lib/domain/stripe-publisher-trust.ts).
   */
  readonly publishers: { readonly trusted: ReadonlySet<string>; readonly self: string };
}

export interface Consumer {
  /** True while a channel is consuming billing_queue. */
  isReady(): boolean;
  /** Deliveries taken and not yet settled. */
  inFlight(): number;
  /** How many deliveries ended in each outcome, since start. */
  outcomes(): ReturnType<ReturnType<typeof createOutcomeReport>["counts"]>;
  /** Stops taking messages, waits up to drainMs for those in flight, closes the channel. Idempotent. */
  stop(drainMs?: number): Promise<void>;
}

interface Taken<M> {
  readonly delivery: ConsumeMessage;
  readonly facts: DeliveryFacts;
  readonly message: M;
}

/** One channel's consuming: its deliveries, its publisher of failure copies, its batcher. */
interface Subscription {
  readonly session: DeliverySession;
  readonly publish: PublishCopy;
  readonly batcher: Batcher<Taken<StripeEventMessage>>;
}

const defaultDrainMs = 3000;

/** Consumes billing_queue with manual acks; consuming resumes by itself after every reconnect. */
export function startConsumer(
  deps: {
    broker: Broker;
    log: Logger;
    appliers: Appliers;
    /**
     * The process's database gate: while it is closed nothing is taken, and a delivery whose apply
     * met the outage is given back without spending an attempt (appliers should run through gate.run).
     */
    gate?: Pick<DatabaseGate, "isOpen" | "onChange">;
  },
  options: ConsumerOptions,
): Consumer {
  const log = deps.log.child({ subsystem: "consumer" });
  const { self } = options.publishers;
  const trusted: ReadonlySet<string> = new Set([...options.publishers.trusted, self]);
  const report = createOutcomeReport(log);
  const settleFailure = failureSettlement({
    report,
    log,
    retryDelaysMs: options.retryDelaysMs,
    self,
    givesBack: deps.gate !== undefined,
    stopping: () => stopping,
  });
  const inFlight = createInFlight();
  const commandLane = createLane(options.commandsInFlight ?? 4);
  let current: Subscription | undefined;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  const gateOpen = () => deps.gate?.isOpen() ?? true;

  const wrapper = openChannel(deps.broker, {
    name: "consumer",
    log,
    setup: async (channel) => {
      const session = openDeliverySession(channel, log);
      const subscription: Subscription = {
        session,
        publish: confirmedPublish(channel, options.publishTimeoutMs),
        batcher: createBatcher({
          size: Math.max(1, options.batchSize),
          maxInFlight: Math.max(1, options.batchesInFlight ?? 1),
          apply: (batch) => applyEvents(subscription, batch),
          onError: (error) => log.error({ reason: errorMessage(error) }, "consumer failed on a batch"),
        }),
      };
      channel.on("close", () => {
        // what waits for a batch is redelivered by the broker
        const waiting = subscription.batcher.pending();
        subscription.batcher.clear();
        inFlight.end(waiting);
        if (current === subscription) current = undefined;
      });
      // Without a listener a channel error (e.g. a precondition failure) would be thrown.
      channel.on("error", (error: Error) => log.warn({ reason: error.message }, "consumer channel error"));
      await ensureBillingTopology(deps.broker, channel, options.retryDelaysMs, log);
      await channel.prefetch(options.prefetch);
      current = subscription;
      if (!stopping && gateOpen()) await subscribe(subscription);
    },
  });

  // While the database is unavailable nothing is taken: the consumer is cancelled, what it still
  // holds fails fast at gate.run and is given back (settleFailure), and it subscribes again once
  // the gate opens. The gate logs the pause and the resume, once each.
  deps.gate?.onChange((open) => {
    const subscription = current;
    if (stopping || subscription === undefined || !subscription.session.open) return;
    if (open && subscription.session.consumerTag === undefined) {
      subscribe(subscription).catch((error: unknown) => {
        log.warn({ reason: errorMessage(error) }, "cannot resume consuming; reconnecting");
        if (!stopping) deps.broker.reconnect();
      });
    } else if (!open && subscription.session.consumerTag !== undefined) {
      pause(subscription);
    }
  });

  function pause(subscription: Subscription): void {
    const { session } = subscription;
    const tag = session.consumerTag;
    if (tag === undefined) return;
    session.consumerTag = undefined;
    log.debug({ inFlight: inFlight.count() }, "database unavailable: consumer cancelled");
    session.channel.cancel(tag).catch((error: unknown) => {
      log.warn({ reason: errorMessage(error) }, "cannot cancel the consumer");
    });
  }

  async function subscribe(subscription: Subscription): Promise<void> {
    const { session } = subscription;
    const { consumerTag } = await session.channel.consume(
      names.queue,
      (delivery) => {
        if (delivery === null) onCancelled(subscription);
        else take(subscription, delivery);
      },
      { noAck: false },
    );
    session.consumerTag = consumerTag;
    // the gate may have closed while basic.consume was on its way
    if (!gateOpen()) {
      pause(subscription);
      return;
    }
    log.info({ prefetch: options.prefetch, batchSize: options.batchSize }, "consuming billing_queue");
  }

  // The broker cancels a consumer whose queue was deleted: declare it again and resubscribe.
  function onCancelled(subscription: Subscription): void {
    const { session } = subscription;
    session.consumerTag = undefined;
    if (stopping) return;
    log.warn("RabbitMQ cancelled the consumer; resubscribing");
    setTimeout(() => {
      // while the gate is closed, its opening subscribes again
      if (stopping || !session.open || current !== subscription || !gateOpen()) return;
      ensureBillingTopology(deps.broker, session.channel, options.retryDelaysMs, log)
        .then(() => subscribe(subscription))
        .catch((error: unknown) => {
          log.warn({ reason: errorMessage(error) }, "cannot resubscribe; reconnecting");
          if (!stopping) deps.broker.reconnect();
        });
    }, 1000).unref();
  }

  // Read once, here; then Stripe events to the batcher, commands to their lane.
  function take(subscription: Subscription, delivery: ConsumeMessage): void {
    const read = readDelivery(delivery, trusted);
    report.taken(read.facts, delivery.properties.timestamp);
    subscription.session.take(delivery);
    inFlight.begin();
    if (read.message === undefined) {
      void settleFailure(subscription, delivery, read.facts, read.refusal).finally(() => inFlight.end());
    } else if (read.message.kind === "stripe-event") {
      subscription.batcher.add({ delivery, facts: read.facts, message: read.message });
    } else {
      const taken = { delivery, facts: read.facts, message: read.message };
      void commandLane.run(() => applyCommand(subscription, taken)).finally(() => inFlight.end());
    }
  }

  async function applyEvents(subscription: Subscription, batch: Taken<StripeEventMessage>[]): Promise<void> {
    try {
      await applyOrSplit(subscription, batch);
    } finally {
      inFlight.end(batch.length);
    }
  }

  /**
   * Applies a batch; when it fails as a whole, splits it in halves until the message at fault is
   * alone, so a poison message costs its neighbours a few more transactions, never their effect.
   */
  async function applyOrSplit(subscription: Subscription, batch: Taken<StripeEventMessage>[]): Promise<void> {
    const started = performance.now();
    let outcomes: readonly EventOutcome[];
    try {
      outcomes = await deps.appliers.events(batch.map((taken) => taken.message));
    } catch (error) {
      // an unreachable database fails every half alike: nothing to isolate
      if (batch.length === 1 || errorCode(error) === "database_unavailable") {
        await Promise.all(
          batch.map((taken) => settleFailure(subscription, taken.delivery, taken.facts, error)),
        );
        return;
      }
      batchSplits.inc();
      log.warn({ size: batch.length, reason: errorMessage(error) }, "batch failed; applying it in halves");
      const half = Math.ceil(batch.length / 2);
      await applyOrSplit(subscription, batch.slice(0, half));
      await applyOrSplit(subscription, batch.slice(half));
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    const committed: Array<{ taken: Taken<StripeEventMessage>; outcome: "applied" | "duplicate" }> = [];
    const refused: Array<{ taken: Taken<StripeEventMessage>; error: unknown }> = [];
    batch.forEach((taken, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) throw new Error(`no outcome for message ${i} of a batch of ${batch.length}`);
      if (outcome.status === "refused") refused.push({ taken, error: outcome.error });
      else committed.push({ taken, outcome: outcome.status });
    });
    settleCommitted(subscription, committed, seconds);
    await Promise.all(
      refused.map(({ taken, error }) => settleFailure(subscription, taken.delivery, taken.facts, error)),
    );
  }

  /** The acks after a commit: one frame for the batch when it can be. */
  function settleCommitted(
    subscription: Subscription,
    committed: ReadonlyArray<{ taken: Taken<StripeEventMessage>; outcome: "applied" | "duplicate" }>,
    seconds: number,
  ): void {
    if (committed.length === 0) return;
    const durationMs = Math.round(seconds * 1000);
    if (!subscription.session.ackAll(committed.map(({ taken }) => taken.delivery))) {
      for (const { taken, outcome } of committed) {
        report.report("abandoned", taken.facts, {
          durationMs,
          note: `${outcome}; the redelivery will be a duplicate`,
        });
      }
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

  async function applyCommand(subscription: Subscription, taken: Taken<CommandMessage>): Promise<void> {
    const started = performance.now();
    let result: "applied" | "duplicate";
    try {
      result = await deps.appliers.command(taken.message);
    } catch (error) {
      await settleFailure(subscription, taken.delivery, taken.facts, error);
      return;
    }
    const durationMs = Math.round(performance.now() - started);
    if (subscription.session.ack(taken.delivery)) report.report(result, taken.facts, { durationMs });
    else
      report.report("abandoned", taken.facts, {
        durationMs,
        note: `${result}; the redelivery will be a duplicate`,
      });
  }

  async function shutdown(drainMs: number): Promise<void> {
    stopping = true;
    const deadline = Date.now() + drainMs;
    const subscription = current;
    const session = subscription?.session;
    if (session?.open && session.consumerTag !== undefined) {
      await withDeadline(session.channel.cancel(session.consumerTag), drainMs, "basic.cancel").catch(
        (error: unknown) => log.warn({ reason: errorMessage(error) }, "cannot cancel the consumer"),
      );
    }
    // what is gathering for a batch is applied now rather than left to a redelivery
    subscription?.batcher.flushAll();
    if (inFlight.count() > 0) {
      log.info({ inFlight: inFlight.count() }, "waiting for messages in flight");
      if (!(await inFlight.drained(Math.max(0, deadline - Date.now())))) {
        log.warn(
          { inFlight: inFlight.count() },
          "stop deadline passed with messages in flight; RabbitMQ redelivers them",
        );
      }
    }
    await wrapper.close();
  }

  return {
    isReady: () => !stopping && current?.session.open === true && current.session.consumerTag !== undefined,
    inFlight: inFlight.count,
    outcomes: report.counts,
    stop(drainMs = defaultDrainMs) {
      stopped ??= shutdown(drainMs);
      return stopped;
    },
  };
}
