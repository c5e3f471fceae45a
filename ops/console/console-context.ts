import type { Db } from "../../lib/db/database.ts";
import { withDeadline } from "../../lib/deadline.ts";
import type { BrokerProbe } from "../../lib/ops/broker-probe.ts";
import { failureText } from "../../lib/ops/failure-text.ts";
import type { MetricsScraper } from "../../lib/ops/metrics-scraper.ts";
import { Refusal } from "./console-request.ts";

/** What the console's routes use, built once by its composition root (workers/console.ts). */
export interface ConsoleContext {
  readonly db: Db;
  readonly broker: BrokerProbe;
  readonly scraper: MetricsScraper;
  readonly amqpUrl: string;
  /** The broker user of amqpUrl: replays are published as it (RabbitMQ checks user_id). */
  readonly amqpUser: string;
  readonly publishTimeoutMs: number;
  readonly retryDelaysMs: readonly number[];
  /** How long a page waits for PostgreSQL before it says it cannot reach it. */
  readonly dbTimeoutMs: number;
  /** Seconds between refreshes of the fleet page. */
  readonly refreshSeconds: number;
}

/** Runs a read on the database; a failure is a 503 saying so in one line, never a crash. */
export async function readDb<T>(ctx: ConsoleContext, read: (db: Db) => Promise<T>): Promise<T> {
  try {
    return await withDeadline(read(ctx.db), ctx.dbTimeoutMs, "PostgreSQL");
  } catch (error) {
    throw new Refusal(503, `PostgreSQL unreachable: ${failureText(error)}`);
  }
}
