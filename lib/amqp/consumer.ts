import type { ConfirmChannel, ConsumeMessage } from "amqplib";
import { isDatabaseOutage } from "../db/classify-error.ts";
import type { DatabaseGate } from "../db/database-gate.ts";
import { withDeadline } from "../deadline.ts";
import { errorCode, errorKind, errorMessage } from "../domain/errors.ts";
import { type Decision, decide } from "../domain/retry-policy.ts";
import type { InboundMessage } from "../handlers/context.ts";
import type { Logger } from "../log.ts";
import {
  handlerDuration,
  messageAge,
  messagesAcked,
  messagesConsumed,
  messagesDeadLettered,
  messagesDuplicate,
  messagesRetried,
  messagesReturned,
} from "../metrics/registry.ts";
import { confirmedPublish, type PublishCopy } from "./confirmed-publish.ts";
import { type Broker, openChannel } from "./connection.ts";
import { deadLetterCopy, maxReturns, retryCopy, returnCopy, returnCount } from "./failure-copies.ts";
import { createInFlight } from "./in-flight.ts";
import { type DeliveryFacts, deliveryFacts, parseDelivery } from "./inbound-message.ts";
import { declareTopology, names } from "./topology.ts";

// The only place that acks, retries or dead-letters a billing_queue message, and only after the
// outcome is durable: the Postgres commit for an applied message, the broker's confirm for the
// retry or dead-letter copy. A delivery is settled on the channel it came from and never once that
// channel has closed (the broker redelivers it; its tag means nothing on a new channel).

/** Applies one message (one transaction); resolves once it is committed. */
export type ApplyMessage = (message: InboundMessage) => Promise<"applied" | "duplicate">;

/** Applies messages in one transaction; resolves with their outcomes once it commits, or throws for all. */
export type ApplyBatch = (
  messages: readonly InboundMessage[],
) => Promise<ReadonlyArray<"applied" | "duplicate">>;

/** How a delivery ended. */
export type Outcome =
  | "applied"
  | "duplicate"
  | "retried"
  | "dead-lettered"
  | "requeued"
  | "abandoned"
  | "returned";

export interface ConsumerOptions {
  readonly prefetch: number;
  /**
   * Most messages per transaction. Only first deliveries of Stripe events are batched: a command
   * may call Stripe inside its transaction, and a retried message already failed once.
   */
  readonly batchSize?: number;
  readonly retryDelaysMs: readonly number[];
  /** How long a retry or dead-letter copy may wait for its confirm. */
  readonly publishTimeoutMs: number;
}

export interface Consumer {
  /** True while a channel is consuming billing_queue. */
  isReady(): boolean;
  /** Deliveries taken and not yet settled. */
  inFlight(): number;
  /** How many deliveries ended in each outcome, since start. */
  outcomes(): Readonly<Record<Outcome, number>>;
  /** Stops taking messages, waits up to drainMs for those in flight, closes the channel. Idempotent. */
  stop(drainMs?: number): Promise<void>;
}

/** One raw channel: deliveries are settled on the session they came from, or not at all. */
interface Session {
  readonly channel: ConfirmChannel;
  readonly publish: PublishCopy;
  open: boolean;
  consumerTag: string | undefined;
  /** Batchable deliveries waiting for the end of this tick (or a full batch). */
  pending: ConsumeMessage[];
  /** Delivery tags taken and not yet acked or nacked: what a multiple-ack must not cover. */
  readonly unsettled: Set<number>;
}

const defaultDrainMs = 3000;

/** Consumes billing_queue with manual acks; consuming resumes by itself after every reconnect. */
export function startConsumer(
  deps: {
    broker: Broker;
    log: Logger;
    apply: ApplyMessage;
    applyBatch?: ApplyBatch;
    /**
     * The process's database gate: while it is closed nothing is taken, and a delivery whose apply
     * met the outage is given back without spending an attempt (apply should run through gate.run).
     */
    gate?: Pick<DatabaseGate, "isOpen" | "onChange">;
  },
  options: ConsumerOptions,
): Consumer {
  const batchSize = deps.applyBatch === undefined ? 1 : Math.max(1, options.batchSize ?? 1);
  const log = deps.log.child({ subsystem: "consumer" });
  const counts: Record<Outcome, number> = {
    applied: 0,
    duplicate: 0,
    retried: 0,
    "dead-lettered": 0,
    requeued: 0,
    abandoned: 0,
    returned: 0,
  };
  let current: Session | undefined;
  let stopping = false;
  const inFlight = createInFlight();
  let stopped: Promise<void> | undefined;
  const gateOpen = () => deps.gate?.isOpen() ?? true;

  const wrapper = openChannel(deps.broker, {
    name: "consumer",
    log,
    setup: async (channel) => {
      const session: Session = {
        channel,
        publish: confirmedPublish(channel, options.publishTimeoutMs),
        open: true,
        consumerTag: undefined,
        pending: [],
        unsettled: new Set(),
      };
      channel.on("close", () => {
        session.open = false;
        if (current === session) current = undefined;
      });
      // Without a listener a channel error (e.g. a precondition failure) would be thrown.
      channel.on("error", (error: Error) => log.warn({ reason: error.message }, "consumer channel error"));
      await declareTopology(channel, options.retryDelaysMs);
      await channel.prefetch(options.prefetch);
      current = session;
      if (!stopping && gateOpen()) await subscribe(session);
    },
  });

  // While the database is unavailable nothing is taken: the consumer is cancelled, what it still
  // holds fails fast at gate.run and is given back (settleFailure), and it subscribes again once
  // the gate opens. The gate logs the pause and the resume, once each.
  deps.gate?.onChange((open) => {
    const session = current;
    if (stopping || session === undefined || !session.open) return;
    if (open && session.consumerTag === undefined) {
      subscribe(session).catch((error: unknown) => {
        log.warn({ reason: errorMessage(error) }, "cannot resume consuming; reconnecting");
        if (!stopping) deps.broker.reconnect();
      });
    } else if (!open && session.consumerTag !== undefined) {
      pause(session);
    }
  });

  function pause(session: Session): void {
    const tag = session.consumerTag;
    if (tag === undefined) return;
    session.consumerTag = undefined;
    log.debug({ inFlight: inFlight.count() }, "database unavailable: consumer cancelled");
    session.channel.cancel(tag).catch((error: unknown) => {
      log.warn({ reason: errorMessage(error) }, "cannot cancel the consumer");
    });
  }

  async function subscribe(session: Session): Promise<void> {
    const { consumerTag } = await session.channel.consume(
      names.queue,
      (delivery) => {
        if (delivery === null) onCancelled(session);
        else take(session, delivery);
      },
      { noAck: false },
    );
    session.consumerTag = consumerTag;
    // the gate may have closed while basic.consume was on its way
    if (!gateOpen()) {
      pause(session);
      return;
    }
    log.info({ prefetch: options.prefetch }, "consuming billing_queue");
  }

  // The broker cancels a consumer whose queue was deleted: declare it again and resubscribe.
  function onCancelled(session: Session): void {
    session.consumerTag = undefined;
    if (stopping) return;
    log.warn("RabbitMQ cancelled the consumer; resubscribing");
    setTimeout(() => {
      // while the gate is closed, its opening subscribes again
      if (stopping || !session.open || current !== session || !gateOpen()) return;
      declareTopology(session.channel, options.retryDelaysMs)
        .then(() => subscribe(session))
        .catch((error: unknown) => {
          log.warn({ reason: errorMessage(error) }, "cannot resubscribe; reconnecting");
          if (!stopping) deps.broker.reconnect();
        });
    }, 1000).unref();
  }

  // Deliveries that arrive together (one socket read) are applied together, up to batchSize.
  function take(session: Session, delivery: ConsumeMessage): void {
    const facts = deliveryFacts(delivery);
    counted(delivery, facts);
    session.unsettled.add(delivery.fields.deliveryTag);
    if (batchSize === 1 || !isBatchable(facts)) {
      void inFlight.track(() => handle(session, delivery), 1);
      return;
    }
    session.pending.push(delivery);
    if (session.pending.length >= batchSize) flush(session);
    else if (session.pending.length === 1) setImmediate(() => flush(session));
  }

  function flush(session: Session): void {
    const batch = session.pending.splice(0, batchSize);
    if (batch.length === 1) void inFlight.track(() => handle(session, batch[0] as ConsumeMessage), 1);
    else if (batch.length > 1) void inFlight.track(() => handleBatch(session, batch), batch.length);
  }

  async function handleBatch(session: Session, batch: readonly ConsumeMessage[]): Promise<void> {
    const applyBatch = deps.applyBatch as ApplyBatch;
    const started = performance.now();
    let results: ReadonlyArray<"applied" | "duplicate">;
    try {
      results = await applyBatch(batch.map((delivery) => parseDelivery(delivery)));
    } catch (error) {
      // Nothing was committed: each message gets its own transaction (and its own failure path).
      log.debug({ size: batch.length, reason: errorMessage(error) }, "batch failed; applying one by one");
      await Promise.all(batch.map((delivery) => handle(session, delivery)));
      return;
    }
    const elapsed = (performance.now() - started) / 1000;
    const durationMs = Math.round(elapsed * 1000);
    const acked = ackBatch(session, batch);
    const ids: Record<"applied" | "duplicate", string[]> = { applied: [], duplicate: [] };
    batch.forEach((delivery, i) => {
      const facts = deliveryFacts(delivery);
      const result = results[i] ?? "applied";
      const type = typeLabel(facts.type);
      handlerDuration.observe({ type, outcome: result }, elapsed);
      if (!acked) {
        report("abandoned", facts, { durationMs, note: `${result}; the redelivery will be a duplicate` });
        return;
      }
      counts[result] += 1;
      messagesAcked.inc({ type });
      if (result === "duplicate") messagesDuplicate.inc({ type });
      ids[result].push(facts.messageId ?? "");
    });
    // One line per transaction: every message id is in it, at a fraction of a line each.
    if (acked) {
      log.info(
        { applied: ids.applied, duplicates: ids.duplicate, durationMs },
        `${batch.length} messages applied in one transaction`,
      );
    }
  }

  /**
   * Acks a committed batch: one frame (multiple) when no other unsettled delivery lies below its
   * last tag, which would otherwise be acked before its commit; else one ack each.
   */
  function ackBatch(session: Session, batch: readonly ConsumeMessage[]): boolean {
    if (!session.open) return false;
    const tags = new Set(batch.map((delivery) => delivery.fields.deliveryTag));
    const last = batch.reduce((a, b) => (b.fields.deliveryTag > a.fields.deliveryTag ? b : a));
    const upTo = last.fields.deliveryTag;
    const coversOnlyThis = [...session.unsettled].every((tag) => tag > upTo || tags.has(tag));
    try {
      if (coversOnlyThis) session.channel.ack(last, true);
      else for (const delivery of batch) session.channel.ack(delivery);
    } catch (error) {
      log.warn({ reason: errorMessage(error) }, "ack failed");
      return false;
    }
    for (const tag of tags) session.unsettled.delete(tag);
    return true;
  }

  async function handle(session: Session, delivery: ConsumeMessage): Promise<void> {
    const facts = deliveryFacts(delivery);
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      let result: "applied" | "duplicate";
      try {
        result = await deps.apply(parseDelivery(delivery));
      } catch (error) {
        handlerDuration.observe({ type: typeLabel(facts.type), outcome: "failed" }, seconds());
        await settleFailure(session, delivery, facts, error);
        return;
      }
      settleApplied(session, delivery, facts, result, seconds());
    } catch (error) {
      // Nothing above should throw; if it does the delivery stays unsettled and is redelivered.
      log.error({ messageId: facts.messageId, reason: errorMessage(error) }, "consumer failed on a delivery");
    }
  }

  /** The ack after the commit, and the metrics and log line of an applied (or duplicate) message. */
  function settleApplied(
    session: Session,
    delivery: ConsumeMessage,
    facts: DeliveryFacts,
    result: "applied" | "duplicate",
    elapsed: number,
  ): void {
    const type = typeLabel(facts.type);
    handlerDuration.observe({ type, outcome: result }, elapsed);
    const durationMs = Math.round(elapsed * 1000);
    if (!ack(session, delivery)) {
      report("abandoned", facts, { durationMs, note: `${result}; the redelivery will be a duplicate` });
      return;
    }
    messagesAcked.inc({ type });
    if (result === "duplicate") messagesDuplicate.inc({ type });
    report(result, facts, { durationMs });
  }

  /** Retry copy or dead-letter copy, confirmed, THEN the ack; the copy failing means a requeue. */
  async function settleFailure(
    session: Session,
    delivery: ConsumeMessage,
    facts: DeliveryFacts,
    error: unknown,
  ): Promise<void> {
    const type = typeLabel(facts.type);
    if (!session.open || (stopping && errorKind(error) === "transient")) {
      // The channel is gone, or we are shutting down (and the failure may be ours): leave it to a
      // redelivery rather than spend a retry step on it.
      report("abandoned", facts, { error });
      return;
    }
    if (deps.gate !== undefined && isDatabaseOutage(error) && returnCount(delivery) < maxReturns) {
      await giveBack(session, delivery, facts, error);
      return;
    }
    const decision: Decision = decide(error, facts.attempt, options.retryDelaysMs);
    const copy =
      decision.action === "retry"
        ? retryCopy(delivery, facts.attempt, decision.queue, error)
        : deadLetterCopy(delivery, facts.attempt, decision.kind, error, new Date());
    try {
      await session.publish(copy);
    } catch (publishError) {
      // Not parked anywhere: put it back. The queue's delivery limit bounds how often this repeats.
      const requeued = nack(session, delivery);
      report(requeued ? "requeued" : "abandoned", facts, { error, publishError });
      return;
    }
    // If this ack is lost, both the copy and a redelivery exist: the inbox absorbs the second.
    if (!ack(session, delivery)) {
      report("abandoned", facts, { error, note: "a copy was published too" });
      return;
    }
    if (decision.action === "retry") {
      messagesRetried.inc({ type, code: errorCode(error) });
      report("retried", facts, { error, delayMs: decision.delayMs });
    } else {
      messagesDeadLettered.inc({ type, code: errorCode(error), kind: decision.kind });
      report("dead-lettered", facts, { error, kind: decision.kind });
    }
  }

  /**
   * The database was unavailable, not the message wrong: back to billing_queue as a fresh copy
   * (x-attempts unchanged), confirmed, THEN the ack. Never a requeue: a quorum queue counts those
   * towards x-delivery-limit, and an outage must not park anything.
   */
  async function giveBack(
    session: Session,
    delivery: ConsumeMessage,
    facts: DeliveryFacts,
    error: unknown,
  ): Promise<void> {
    try {
      await session.publish(returnCopy(delivery));
    } catch (publishError) {
      const requeued = nack(session, delivery);
      report(requeued ? "requeued" : "abandoned", facts, { error, publishError });
      return;
    }
    if (!ack(session, delivery)) {
      report("abandoned", facts, { error, note: "a copy was given back too" });
      return;
    }
    messagesReturned.inc({ type: typeLabel(facts.type) });
    report("returned", facts, { error });
  }

  function ack(session: Session, delivery: ConsumeMessage): boolean {
    if (!session.open) return false;
    try {
      session.channel.ack(delivery);
      session.unsettled.delete(delivery.fields.deliveryTag);
      return true;
    } catch (error) {
      // The channel closed under us: the broker redelivers the message.
      log.warn({ reason: errorMessage(error) }, "ack failed");
      return false;
    }
  }

  function nack(session: Session, delivery: ConsumeMessage): boolean {
    if (!session.open) return false;
    try {
      session.channel.nack(delivery, false, true);
      session.unsettled.delete(delivery.fields.deliveryTag);
      return true;
    } catch (error) {
      log.warn({ reason: errorMessage(error) }, "nack failed");
      return false;
    }
  }

  function report(
    outcome: Outcome,
    facts: DeliveryFacts,
    detail: {
      error?: unknown;
      publishError?: unknown;
      delayMs?: number;
      durationMs?: number;
      kind?: string;
      note?: string;
    } = {},
  ): void {
    counts[outcome] += 1;
    const line = {
      messageId: facts.messageId,
      type: facts.type,
      attempt: facts.attempt,
      outcome,
      ...(detail.error === undefined
        ? {}
        : { code: errorCode(detail.error), reason: errorMessage(detail.error) }),
      ...(detail.publishError === undefined ? {} : { publishError: errorMessage(detail.publishError) }),
      ...(detail.delayMs === undefined ? {} : { delayMs: detail.delayMs }),
      ...(detail.durationMs === undefined ? {} : { durationMs: detail.durationMs }),
      ...(detail.kind === undefined ? {} : { kind: detail.kind }),
      ...(detail.note === undefined ? {} : { note: detail.note }),
    };
    switch (outcome) {
      case "applied":
        log.info(line, "message applied");
        break;
      case "duplicate":
        log.info(line, "duplicate message: already applied, acknowledged");
        break;
      case "retried":
        log.warn(line, "message failed; sent to the retry ladder");
        break;
      case "dead-lettered":
        log.error(line, "message dead-lettered");
        break;
      case "requeued":
        log.error(line, "message failed and could not be parked; requeued");
        break;
      case "abandoned":
        log.warn(line, "delivery left unsettled (channel closed or stopping); RabbitMQ redelivers it");
        break;
      case "returned":
        // one line per pause comes from the gate, not one per message
        log.debug(line, "database unavailable: message given back to billing_queue, no attempt spent");
        break;
    }
  }

  async function shutdown(drainMs: number): Promise<void> {
    stopping = true;
    const deadline = Date.now() + drainMs;
    const session = current;
    if (session?.open && session.consumerTag !== undefined) {
      await withDeadline(session.channel.cancel(session.consumerTag), drainMs, "basic.cancel").catch(
        (error: unknown) => log.warn({ reason: errorMessage(error) }, "cannot cancel the consumer"),
      );
    }
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
    isReady: () => !stopping && current?.open === true && current.consumerTag !== undefined,
    inFlight: inFlight.count,
    outcomes: () => ({ ...counts }),
    stop(drainMs = defaultDrainMs) {
      stopped ??= shutdown(drainMs);
      return stopped;
    },
  };
}

function counted(delivery: ConsumeMessage, facts: DeliveryFacts): void {
  messagesConsumed.inc({ type: typeLabel(facts.type) });
  observeAge(delivery.properties.timestamp);
}

/** A first delivery of a Stripe event with a message id (anything else is applied on its own). */
function isBatchable(facts: DeliveryFacts): boolean {
  return facts.attempt === 0 && facts.messageId !== undefined && facts.routingKey.startsWith("stripe.");
}

/** Bounded label values: a message type is set by the sender, so an odd one is not a new series. */
function typeLabel(type: string): string {
  return /^[a-z0-9_.]{1,100}$/i.test(type) ? type : "invalid";
}

function observeAge(timestamp: unknown): void {
  // AMQP timestamps are whole seconds.
  if (typeof timestamp !== "number" || !Number.isFinite(timestamp) || timestamp <= 0) return;
  messageAge.observe(Math.max(0, Date.now() / 1000 - timestamp));
}
