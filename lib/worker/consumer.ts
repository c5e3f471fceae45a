import type { ConsumeMessage } from "amqplib";
import { confirmedPublish, type PublishCopy } from "../amqp/confirmed-publish.ts";
import { type Broker, openChannel } from "../amqp/connection.ts";
import { type DeliverySession, openDeliverySession } from "../amqp/delivery-session.ts";
import { ensureBillingTopology } from "../amqp/ensure-billing-topology.ts";
import { createInFlight } from "../amqp/in-flight.ts";
import { readDelivery, type StripeEventMessage } from "../amqp/inbound-message.ts";
import type { DatabaseGate } from "../db/database-gate.ts";
import { withDeadline } from "../deadline.ts";
import { errorMessage } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import { type Appliers, commandSettlement, eventBatchSettlement, type Taken } from "./applied-settlement.ts";
import { type Batcher, createBatcher } from "./batcher.ts";
import { consumeSwitch } from "./consume-switch.ts";
import { failureSettlement } from "./failure-settlement.ts";
import { createLane } from "./lane.ts";
import { createOutcomeReport } from "./outcome-report.ts";

// The only place that acks, retries or dead-letters a billing_queue message, and only after the
// outcome is durable: the Postgres commit for an applied message, the broker's confirm for the
// retry or dead-letter copy. Each delivery is read once (readDelivery) into a typed message:
// Stripe events go to the batcher and are applied set-based, many per transaction; commands go
// one by one through a lane of their own, since they call Stripe inside their transaction.

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

  const settlement = { appliers: deps.appliers, report, settleFailure, log };
  const applyEvents = eventBatchSettlement(settlement);
  const applyCommand = commandSettlement(settlement);
  const consuming = consumeSwitch<Subscription>({
    broker: deps.broker,
    log,
    retryDelaysMs: options.retryDelaysMs,
    take,
    isCurrent: (subscription) => current === subscription,
    gateOpen,
    stopping: () => stopping,
    inFlight: inFlight.count,
    settings: { prefetch: options.prefetch, batchSize: options.batchSize },
  });

  const wrapper = openChannel(deps.broker, {
    name: "consumer",
    log,
    setup: async (channel) => {
      const subscription: Subscription = {
        session: openDeliverySession(channel, log),
        publish: confirmedPublish(channel, options.publishTimeoutMs),
        batcher: createBatcher({
          size: Math.max(1, options.batchSize),
          maxInFlight: Math.max(1, options.batchesInFlight ?? 1),
          apply: (batch) => applyEvents(subscription, batch).finally(() => inFlight.end(batch.length)),
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
      if (!stopping && gateOpen()) await consuming.subscribe(subscription);
    },
  });

  // While the database is unavailable nothing is taken: the consumer is cancelled, what it still
  // holds fails fast at gate.run and is given back (settleFailure), and it subscribes again once
  // the gate opens. The gate logs the pause and the resume, once each.
  deps.gate?.onChange((open) => consuming.follow(current, open));

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
