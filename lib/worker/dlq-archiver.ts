import { setTimeout as delay } from "node:timers/promises";
import type { ConsumeMessage } from "amqplib";
import { type Broker, openChannel } from "../amqp/connection.ts";
import { type DeliverySession, openDeliverySession } from "../amqp/delivery-session.ts";
import { ensureBillingTopology } from "../amqp/ensure-billing-topology.ts";
import { createInFlight } from "../amqp/in-flight.ts";
import { names } from "../amqp/topology.ts";
import type { Db } from "../db/database.ts";
import type { DatabaseGate } from "../db/database-gate.ts";
import { withDeadline } from "../deadline.ts";
import { errorMessage } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import { deadLettersArchived } from "../metrics/registry.ts";
import { deadLetterRow } from "./dead-letter-row.ts";

// Moves billing_queue.dlq into billing.dead_letters, where ops list, group and replay them: insert
// (idempotent by fingerprint), commit, THEN ack. A dead letter is never dropped: while Postgres
// refuses it, the message is held (not requeued, which would spin) and the insert retried. While
// the database is down (the gate is closed) nothing is taken and what is held goes back to the DLQ.

export interface DlqArchiverOptions {
  /** Dead letters held at once; small, they are rare and each is one insert. */
  readonly prefetch: number;
  readonly retryDelaysMs: readonly number[];
  /** Longest wait between two inserts of a dead letter Postgres refused. */
  readonly maxBackoffMs: number;
}

export const defaultArchiverOptions = Object.freeze({ prefetch: 10, maxBackoffMs: 5000 });

export interface DlqArchiver {
  /** True while a channel is consuming the DLQ. */
  isReady(): boolean;
  /** Dead letters this archiver inserted (not counting ones already archived). */
  archived(): number;
  /** Stops taking dead letters, waits up to drainMs for those in flight, closes the channel. Idempotent. */
  stop(drainMs?: number): Promise<void>;
}

/** Starts archiving the DLQ; resumes by itself after a reconnect. */
export function startDlqArchiver(
  deps: { broker: Broker; db: Db; log: Logger; gate?: Pick<DatabaseGate, "isOpen" | "onChange" | "failed"> },
  overrides: Partial<DlqArchiverOptions> & Pick<DlqArchiverOptions, "retryDelaysMs">,
): DlqArchiver {
  const options: DlqArchiverOptions = { ...defaultArchiverOptions, ...overrides };
  const log = deps.log.child({ subsystem: "dlq-archiver" });
  const abort = new AbortController();
  let current: DeliverySession | undefined;
  const inFlight = createInFlight();
  let archived = 0;
  let stopped: Promise<void> | undefined;
  const gateOpen = () => deps.gate?.isOpen() ?? true;

  const wrapper = openChannel(deps.broker, {
    name: "dlq-archiver",
    log,
    setup: async (channel) => {
      const session = openDeliverySession(channel, log);
      channel.on("close", () => {
        if (current === session) current = undefined;
      });
      channel.on("error", (error: Error) => log.warn({ reason: error.message }, "archiver channel error"));
      await ensureBillingTopology(deps.broker, channel, options.retryDelaysMs, log, {
        exchanges: [],
        queues: [names.dlq],
      });
      await channel.prefetch(options.prefetch);
      current = session;
      if (abort.signal.aborted || !gateOpen()) return;
      await subscribe(session);
    },
  });

  async function subscribe(session: DeliverySession): Promise<void> {
    const { consumerTag } = await session.channel.consume(
      names.dlq,
      (delivery) => {
        if (delivery === null) {
          // the DLQ was deleted: a reconnect declares it again and resubscribes
          session.consumerTag = undefined;
          log.warn("RabbitMQ cancelled the DLQ consumer; reconnecting");
          if (!abort.signal.aborted) deps.broker.reconnect();
        } else {
          session.take(delivery);
          void inFlight.track(() => archive(session, delivery));
        }
      },
      { noAck: false },
    );
    session.consumerTag = consumerTag;
    if (!gateOpen()) pause(session);
  }

  // The database gate closed: take nothing more (what is held goes back as its insert fails);
  // it opened: take dead letters again.
  deps.gate?.onChange((open) => {
    const session = current;
    if (abort.signal.aborted || session === undefined || !session.open) return;
    if (!open) pause(session);
    else if (session.consumerTag === undefined) {
      subscribe(session).catch((error: unknown) => {
        log.warn({ reason: errorMessage(error) }, "cannot resume archiving; reconnecting");
        if (!abort.signal.aborted) deps.broker.reconnect();
      });
    }
  });

  function pause(session: DeliverySession): void {
    const tag = session.consumerTag;
    if (tag === undefined) return;
    session.consumerTag = undefined;
    session.channel.cancel(tag).catch((error: unknown) => {
      log.warn({ reason: errorMessage(error) }, "cannot cancel the DLQ consumer");
    });
  }

  async function archive(session: DeliverySession, delivery: ConsumeMessage): Promise<void> {
    try {
      const row = deadLetterRow(delivery, new Date());
      const line = { messageId: row.message_id, type: row.type, errorKind: row.error_kind, error: row.error };
      const inserted = await insert(session, row, line);
      if (inserted === "paused") {
        // The DLQ has no delivery limit and a dead letter no attempts: a plain requeue loses nothing.
        session.requeue(delivery);
        return;
      }
      if (inserted === undefined) return;
      if (!session.ack(delivery)) {
        log.warn(line, "archived, but the channel closed before the ack: the redelivery is absorbed");
        return;
      }
      if (inserted) {
        archived += 1;
        deadLettersArchived.inc();
        log.info(line, "dead letter archived");
      } else {
        log.info(line, "dead letter already archived; acknowledged");
      }
    } catch (error) {
      // Only a bug gets here; the message stays unacked and comes back after a reconnect.
      log.error({ reason: errorMessage(error) }, "cannot archive a dead letter");
    }
  }

  /**
   * True when inserted, false when already there, "paused" when the database is down (the gate
   * closed), undefined when given up (stopping or channel gone).
   */
  async function insert(
    session: DeliverySession,
    row: ReturnType<typeof deadLetterRow>,
    line: Record<string, unknown>,
  ): Promise<boolean | "paused" | undefined> {
    for (let failures = 0; ; failures += 1) {
      if (!gateOpen()) return "paused";
      try {
        const result = await deps.db
          .insertInto("dead_letters")
          .values(row)
          .onConflict((oc) => oc.column("fingerprint").doNothing())
          .executeTakeFirst();
        return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
      } catch (error) {
        if (deps.gate?.failed(error)) return "paused";
        const waitMs = Math.min(options.maxBackoffMs, 100 * 2 ** Math.min(failures, 10));
        if (failures % 10 === 0) {
          log.error(
            { ...line, reason: errorMessage(error), retryInMs: waitMs },
            "cannot insert a dead letter",
          );
        }
        if (abort.signal.aborted || !session.open) return undefined;
        try {
          await delay(waitMs, undefined, { signal: abort.signal });
        } catch {
          // stopping: the unacked dead letter goes back to the DLQ
          return undefined;
        }
      }
    }
  }

  async function shutdown(drainMs: number): Promise<void> {
    abort.abort();
    const deadline = Date.now() + drainMs;
    const session = current;
    if (session?.open && session.consumerTag !== undefined) {
      await withDeadline(session.channel.cancel(session.consumerTag), drainMs, "basic.cancel").catch(
        (error: unknown) => log.warn({ reason: errorMessage(error) }, "cannot cancel the DLQ consumer"),
      );
    }
    if (!(await inFlight.drained(Math.max(0, deadline - Date.now())))) {
      log.warn(
        { inFlight: inFlight.count() },
        "stop deadline passed with dead letters in flight; they stay in the DLQ",
      );
    }
    await wrapper.close();
  }

  return {
    isReady: () => !abort.signal.aborted && current?.open === true && current.consumerTag !== undefined,
    archived: () => archived,
    stop(drainMs = 2000) {
      stopped ??= shutdown(drainMs);
      return stopped;
    },
  };
}
