import { sql } from "kysely";
import { names, retryQueueName } from "../amqp/topology.ts";
import type { Db } from "../db/database.ts";
import { withDeadline } from "../deadline.ts";
import { measureOutbox, type OutboxBacklog } from "../relay/outbox-lag.ts";
import type { BrokerProbe, QueueReading } from "./broker-probe.ts";
import { failureText } from "./failure-text.ts";
import type { MetricsScraper, ProcessReading } from "./metrics-scraper.ts";
import { type ReconcileStatus, readReconcileStatus } from "./reconcile-status.ts";

// The fleet at a glance, from the broker (queues), the database (apply rate, outbox, dead letters,
// reconciliation) and the processes' own /metrics. Each part that cannot be read says why; the
// others are still shown.

export type Part<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly error: string };

export interface QueueStatus extends QueueReading {
  /** main: billing_queue; retry: a step of the ladder; dlq: dead letters not yet archived. */
  readonly role: "main" | "retry" | "dlq";
}

export interface DatabaseStatus {
  /** Messages applied (inbox rows written) in the last minute, per second. */
  readonly applyRate: number;
  readonly outbox: OutboxBacklog;
  readonly parkedDeadLetters: number;
  readonly reconcile: ReconcileStatus;
}

export interface FleetStatus {
  readonly readAt: string;
  readonly broker: Part<{ readonly queues: readonly QueueStatus[] }>;
  readonly database: Part<DatabaseStatus>;
  /** The processes named in CONSOLE_METRICS_URLS; empty when none are. */
  readonly processes: readonly ProcessReading[];
}

export interface FleetStatusDeps {
  readonly db: Db;
  readonly broker: BrokerProbe;
  readonly scraper: MetricsScraper;
  readonly retryDelaysMs: readonly number[];
  /** Bounds the database part: a server that does not answer is reported, not waited for. */
  readonly timeoutMs: number;
}

/** The queues of the topology in the order an operator reads them. */
export function fleetQueues(
  retryDelaysMs: readonly number[],
): { queue: string; role: QueueStatus["role"] }[] {
  return [
    { queue: names.queue, role: "main" },
    ...retryDelaysMs.map((ms) => ({ queue: retryQueueName(ms), role: "retry" as const })),
    { queue: names.dlq, role: "dlq" },
  ];
}

/** Reads the broker, the database and the processes at once. */
export async function readFleetStatus(deps: FleetStatusDeps): Promise<FleetStatus> {
  const queues = fleetQueues(deps.retryDelaysMs);
  const [broker, database] = await Promise.all([
    settle(async () => {
      const readings = await deps.broker.readQueues(queues.map((q) => q.queue));
      return { queues: readings.map((r, i) => ({ ...r, role: queues[i]?.role ?? "main" })) };
    }, "RabbitMQ"),
    settle(() => withDeadline(readDatabase(deps.db), deps.timeoutMs, "PostgreSQL"), "PostgreSQL"),
  ]);
  return { readAt: new Date().toISOString(), broker, database, processes: deps.scraper.readings() };
}

async function readDatabase(db: Db): Promise<DatabaseStatus> {
  const applied = await db
    .selectFrom("processed_messages")
    .select(sql<number>`count(*)`.as("n"))
    .where("processed_at", ">", sql<Date>`now() - interval '1 minute'`)
    .executeTakeFirstOrThrow();
  const parked = await db
    .selectFrom("dead_letters")
    .select(sql<number>`count(*)`.as("n"))
    .where("status", "=", "parked")
    .executeTakeFirstOrThrow();
  return {
    applyRate: Number(applied.n) / 60,
    outbox: await measureOutbox(db),
    parkedDeadLetters: Number(parked.n),
    reconcile: await readReconcileStatus(db),
  };
}

async function settle<T>(read: () => Promise<T>, what: string): Promise<Part<T>> {
  try {
    return { ok: true, ...(await read()) };
  } catch (error) {
    return { ok: false, error: `${what} unreachable: ${failureText(error)}` };
  }
}
