import { setTimeout as delay } from "node:timers/promises";
import type { Publisher } from "../amqp/publisher.ts";
import type { Db } from "../db/database.ts";
import type { DatabaseGate } from "../db/database-gate.ts";
import { errorCode, errorMessage } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import { databaseUp, outboxLag, outboxPending, outboxPublished } from "../metrics/registry.ts";
import { measureOutbox } from "./outbox-lag.ts";
import { nextPollDelay, type PollDelays } from "./poll-delay.ts";
import { relayBatch } from "./relay-batch.ts";

export interface OutboxRelayOptions extends PollDelays {
  /** Rows claimed, published and marked per transaction. */
  readonly batchSize: number;
  /** How often the pending count and the lag are sampled. */
  readonly lagSampleMs: number;
  /** How long stop() waits for the batch in flight before giving up on it (it is then rolled back). */
  readonly drainMs: number;
}

export const defaultRelayOptions: OutboxRelayOptions = Object.freeze({
  batchSize: 100,
  idleMinMs: 50,
  idleMaxMs: 1000,
  errorMinMs: 100,
  errorMaxMs: 5000,
  lagSampleMs: 5000,
  drainMs: 2000,
});

export interface OutboxRelay {
  /** Stops claiming; resolves once the batch in flight is committed or rolled back, or after drainMs. */
  stop(): Promise<void>;
  /** Resolves when the loop and the sampler have ended. */
  readonly done: Promise<void>;
  /** Events this relay published and committed as published. */
  published(): number;
}

/** Starts the relay loop and the lag sampler; several relays may run against one outbox. */
export function startOutboxRelay(
  deps: {
    db: Db;
    publisher: Publisher;
    log: Logger;
    /** While it is closed nothing is claimed; an outage a batch meets closes it (one log line, not one per batch). */
    gate?: Pick<DatabaseGate, "isOpen" | "whenOpen" | "failed">;
  },
  overrides: Partial<OutboxRelayOptions> = {},
): OutboxRelay {
  const options: OutboxRelayOptions = { ...defaultRelayOptions, ...overrides };
  const log = deps.log.child({ subsystem: "relay" });
  const abort = new AbortController();
  let published = 0;

  async function relayLoop(): Promise<void> {
    let waitMs = 0;
    while (!abort.signal.aborted) {
      if (!deps.publisher.isReady()) {
        // Nothing is claimed while the broker is away: no transaction held, no database load.
        await sleep(options.errorMinMs, abort.signal);
        continue;
      }
      if (deps.gate !== undefined && !deps.gate.isOpen()) {
        await deps.gate.whenOpen(abort.signal);
        waitMs = 0;
        continue;
      }
      try {
        const count = await relayBatch(deps.db, deps.publisher, options.batchSize);
        if (count > 0) {
          published += count;
          outboxPublished.inc(count);
          log.debug({ count }, "published outbox batch");
        }
        waitMs = nextPollDelay(waitMs, { kind: "published", count, batchSize: options.batchSize }, options);
      } catch (error) {
        // The batch rolled back and stays in the outbox; the gate said so once and waits for the database.
        if (deps.gate?.failed(error) && !deps.gate.isOpen()) continue;
        waitMs = nextPollDelay(waitMs, { kind: "failed" }, options);
        log.warn(
          { code: errorCode(error), reason: errorMessage(error), retryInMs: waitMs },
          "outbox batch not published; it stays in the outbox and is retried",
        );
      }
      if (waitMs > 0) await sleep(waitMs, abort.signal);
    }
  }

  async function sampleLoop(): Promise<void> {
    while (!abort.signal.aborted) {
      if (deps.gate !== undefined && !deps.gate.isOpen()) {
        await deps.gate.whenOpen(abort.signal);
        continue;
      }
      try {
        const backlog = await measureOutbox(deps.db);
        outboxPending.set(backlog.pending);
        outboxLag.set(backlog.lagSeconds);
        databaseUp.set(1);
      } catch (error) {
        databaseUp.set(0);
        if (!deps.gate?.failed(error)) {
          log.warn({ reason: errorMessage(error) }, "cannot measure the outbox backlog");
        }
      }
      await sleep(options.lagSampleMs, abort.signal);
    }
  }

  const done = Promise.all([relayLoop(), sampleLoop()]).then(() => {
    log.info({ published }, "outbox relay stopped");
  });
  log.info({ batchSize: options.batchSize }, "outbox relay started");

  return {
    done,
    published: () => published,
    async stop() {
      abort.abort();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          log.warn(
            { drainMs: options.drainMs },
            "outbox batch still in flight at stop; it will be rolled back",
          );
          resolve();
        }, options.drainMs);
      });
      await Promise.race([done, deadline]);
      clearTimeout(timer);
    },
  };
}

/** Waits, or returns early when the relay stops. */
async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}
