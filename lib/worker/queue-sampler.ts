import { setTimeout as delay } from "node:timers/promises";
import type { ConfirmChannel } from "amqplib";
import { type Broker, openChannel } from "../amqp/connection.ts";
import { ensureBillingTopology } from "../amqp/ensure-billing-topology.ts";
import { names } from "../amqp/topology.ts";
import { type Db, pingDb } from "../db/database.ts";
import type { DatabaseGate } from "../db/database-gate.ts";
import { withDeadline } from "../deadline.ts";
import { errorMessage } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import { databaseUp, queueConsumers, queueDepth } from "../metrics/registry.ts";

// Every few seconds: depth and consumers of billing_queue and the DLQ (the DLQ's depth is the
// "parked but not yet archived" backlog), and whether Postgres answers (through the database gate
// when there is one, so that an idle worker notices an outage too and says so on /readyz). On its own channel: a
// passive check of a missing queue closes the channel it runs on.

export interface QueueSampler {
  /** Resolves when the loop has ended. */
  readonly done: Promise<void>;
  /** Ends the loop (without waiting for a slow ping) and closes the channel. */
  stop(): Promise<void>;
}

const sampledQueues = [names.queue, names.dlq] as const;

/** Starts sampling every `intervalMs`. */
export function startQueueSampler(
  deps: { broker: Broker; db: Db; log: Logger; gate?: Pick<DatabaseGate, "check"> },
  options: { intervalMs: number; retryDelaysMs: readonly number[] },
): QueueSampler {
  const log = deps.log.child({ subsystem: "queue-sampler" });
  const abort = new AbortController();
  let channel: ConfirmChannel | undefined;

  const wrapper = openChannel(deps.broker, {
    name: "queue-sampler",
    log,
    setup: async (ch) => {
      ch.on("close", () => {
        if (channel === ch) channel = undefined;
      });
      ch.on("error", (error: Error) => log.warn({ reason: error.message }, "sampler channel error"));
      // the queues exist before they are checked, so a check cannot close the channel
      await ensureBillingTopology(deps.broker, ch, options.retryDelaysMs, log, {
        exchanges: [],
        queues: sampledQueues,
      });
      channel = ch;
    },
  });

  async function sampleQueues(): Promise<void> {
    const ch = channel;
    if (ch === undefined) return;
    for (const queue of sampledQueues) {
      const ok = await withDeadline(ch.checkQueue(queue), options.intervalMs, `checkQueue ${queue}`);
      queueDepth.set({ queue }, ok.messageCount);
      queueConsumers.set({ queue }, ok.consumerCount);
    }
  }

  async function loop(): Promise<void> {
    while (!abort.signal.aborted) {
      const gate = deps.gate;
      const [queues, db] = await Promise.allSettled([
        sampleQueues(),
        // the gate sets billing_database_up itself
        gate === undefined ? pingDb(deps.db) : gate.check(),
      ]);
      if (gate === undefined) databaseUp.set(db.status === "fulfilled" && db.value ? 1 : 0);
      if (queues.status === "rejected") {
        log.debug({ reason: errorMessage(queues.reason) }, "cannot sample the queues");
      }
      try {
        await delay(options.intervalMs, undefined, { signal: abort.signal });
      } catch {
        // stopped
      }
    }
  }

  const done = loop();
  return {
    done,
    async stop() {
      abort.abort();
      // A ping of a database that is down can take its connect timeout: do not wait for it.
      await Promise.race([done, delay(500)]);
      await wrapper.close();
    },
  };
}
