import type { DeliveryFacts } from "../amqp/inbound-message.ts";
import { errorCode, errorMessage } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import {
  batchSize,
  handlerDuration,
  messageAge,
  messagesAcked,
  messagesConsumed,
  messagesDeadLettered,
  messagesDuplicate,
  messagesRetried,
  messagesReturned,
} from "../metrics/registry.ts";

// How a delivery ended, told once: the metrics and the log line of every outcome, in one place.

/** How a delivery ended. */
export type Outcome =
  | "applied"
  | "duplicate"
  | "retried"
  | "dead-lettered"
  | "requeued"
  | "abandoned"
  | "returned";

export interface OutcomeDetail {
  readonly error?: unknown;
  readonly publishError?: unknown;
  readonly delayMs?: number;
  readonly durationMs?: number;
  readonly kind?: string;
  readonly note?: string;
}

export interface OutcomeReport {
  /** A delivery was taken from the queue. */
  taken(facts: DeliveryFacts, timestamp: unknown): void;
  /** One delivery ended. */
  report(outcome: Outcome, facts: DeliveryFacts, detail?: OutcomeDetail): void;
  /** A committed batch was acked: metrics per message, one log line with every id. */
  batch(
    entries: ReadonlyArray<{ facts: DeliveryFacts; outcome: "applied" | "duplicate" }>,
    seconds: number,
  ): void;
  /** How many deliveries ended in each outcome, since start. */
  counts(): Readonly<Record<Outcome, number>>;
}

/** The outcome report of one consumer. */
export function createOutcomeReport(log: Logger): OutcomeReport {
  const counts: Record<Outcome, number> = {
    applied: 0,
    duplicate: 0,
    retried: 0,
    "dead-lettered": 0,
    requeued: 0,
    abandoned: 0,
    returned: 0,
  };

  function count(outcome: Outcome, facts: DeliveryFacts, detail: OutcomeDetail): void {
    counts[outcome] += 1;
    const type = typeLabel(facts.type);
    if (outcome === "applied" || outcome === "duplicate") messagesAcked.inc({ type });
    if (outcome === "duplicate") messagesDuplicate.inc({ type });
    if (outcome === "retried") messagesRetried.inc({ type, code: errorCode(detail.error) });
    if (outcome === "returned") messagesReturned.inc({ type });
    if (outcome === "dead-lettered") {
      messagesDeadLettered.inc({ type, code: errorCode(detail.error), kind: detail.kind ?? "permanent" });
    }
  }

  return {
    taken(facts, timestamp) {
      messagesConsumed.inc({ type: typeLabel(facts.type) });
      // AMQP timestamps are whole seconds
      if (typeof timestamp === "number" && Number.isFinite(timestamp) && timestamp > 0) {
        messageAge.observe(Math.max(0, Date.now() / 1000 - timestamp));
      }
    },

    report(outcome, facts, detail = {}) {
      count(outcome, facts, detail);
      if (detail.durationMs !== undefined) {
        const label = outcome === "applied" || outcome === "duplicate" ? outcome : "failed";
        handlerDuration.observe({ type: typeLabel(facts.type), outcome: label }, detail.durationMs / 1000);
      }
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
    },

    batch(entries, seconds) {
      const ids: Record<"applied" | "duplicate", string[]> = { applied: [], duplicate: [] };
      // counted per (type, outcome) once per batch: a label lookup per message is most of what
      // metrics would cost here
      const tally = new Map<string, { type: string; outcome: "applied" | "duplicate"; n: number }>();
      for (const { facts, outcome } of entries) {
        const type = typeLabel(facts.type);
        const key = `${type}\u0000${outcome}`;
        const seen = tally.get(key);
        if (seen === undefined) tally.set(key, { type, outcome, n: 1 });
        else seen.n += 1;
        ids[outcome].push(facts.messageId ?? "");
      }
      for (const { type, outcome, n } of tally.values()) {
        counts[outcome] += n;
        messagesAcked.inc({ type }, n);
        if (outcome === "duplicate") messagesDuplicate.inc({ type }, n);
        // every message of the batch took the batch's time
        for (let i = 0; i < n; i++) handlerDuration.observe({ type, outcome }, seconds);
      }
      batchSize.observe(entries.length);
      // One line per transaction: every message id is in it, at a fraction of a line each.
      log.info(
        { applied: ids.applied, duplicates: ids.duplicate, durationMs: Math.round(seconds * 1000) },
        `${entries.length} messages applied in one transaction`,
      );
    },

    counts: () => ({ ...counts }),
  };
}

/** Bounded label values: a message type is set by the sender, so an odd one is not a new series. */
function typeLabel(type: string): string {
  return /^[a-z0-9_.]{1,100}$/i.test(type) ? type : "invalid";
}
