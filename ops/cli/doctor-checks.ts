import type { Channel, ChannelModel } from "amqplib";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { connectFirstNode } from "../../lib/amqp/connect-first-node.ts";
import { names, queueArguments } from "../../lib/amqp/topology.ts";
import type { Config } from "../../lib/config.ts";
import { createDb } from "../../lib/db/database.ts";
import { migrationsFolder, pendingMigrations, sqlFileProvider } from "../../lib/db/migrator.ts";
import { cursorLagS, stripeEventRetentionS } from "../../lib/domain/reconcile-window.ts";
import type { Logger } from "../../lib/log.ts";
import { readCursor, stripeEventsStream } from "../../lib/reconcile/cursor-store.ts";
import { createStripeApi } from "../../lib/stripe/client.ts";

// The post-deploy checks of `billing-ops doctor`. Each answers ok or not with a reason and never
// throws: a failure is a line of the report, not a crash.

export interface CheckResult {
  readonly name: string;
  /** False fails doctor (exit 1). */
  readonly ok: boolean;
  readonly detail: string;
  /** Works, but should not be so (e.g. more privilege than needed): shown with "!", fails only --strict. */
  readonly warning?: boolean;
}

const exchanges = [names.exchange, names.events, names.dlx, names.retry] as const;

/** Database reachable, every migration of this release applied, none unknown to it. */
export async function checkDatabase(config: Config): Promise<CheckResult> {
  // A plain connection: the Migrator keeps its bookkeeping in public, outside schema billing.
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({
      pool: new pg.Pool({ connectionString: config.databaseUrl, max: 1, connectionTimeoutMillis: 5000 }),
    }),
  });
  try {
    await sql`SELECT 1`.execute(db);
    const pending = await pendingMigrations(db);
    if (pending.length > 0) {
      return fail(
        "database",
        `reachable, but ${pending.length} migration(s) pending: ${pending.join(", ")} (run billing-ops migrate)`,
      );
    }
    const { rows } = await sql<{
      name: string;
    }>`SELECT name FROM public.kysely_migration ORDER BY name`.execute(db);
    const known = new Set(Object.keys(await sqlFileProvider(migrationsFolder()).getMigrations()));
    const unknown = rows.map((r) => r.name).filter((name) => !known.has(name));
    if (unknown.length > 0) {
      // A newer release migrated this database: this code's release would refuse to run.
      return fail(
        "database",
        `applied migration(s) this release does not have: ${unknown.join(", ")} (roll back with the newer release's migrate down)`,
      );
    }
    return pass("database", `reachable, migrations current (${rows.at(-1)?.name ?? "none"})`);
  } catch (error) {
    return fail("database", reason(error));
  } finally {
    await db.destroy();
  }
}

/** Broker reachable and every exchange and queue of the Contract present (passive checks). */
export async function checkBroker(config: Config): Promise<CheckResult> {
  let connection: ChannelModel;
  try {
    connection = await connectFirstNode(config.amqpUrl, { timeoutMs: 5000 });
  } catch (error) {
    return fail("broker", `unreachable: ${reason(error)}`);
  }
  connection.on("error", () => {});
  try {
    const missing: string[] = [];
    // A failed passive check closes its channel, so each check gets a fresh one.
    const passive = async <T>(check: (channel: Channel) => Promise<T>): Promise<T | undefined> => {
      const channel = await connection.createChannel();
      channel.on("error", () => {});
      try {
        const answer = await check(channel);
        await channel.close();
        return answer;
      } catch {
        return undefined;
      }
    };
    for (const exchange of exchanges) {
      if ((await passive((ch) => ch.checkExchange(exchange))) === undefined)
        missing.push(`exchange ${exchange}`);
    }
    const queues = Object.keys(queueArguments(config.retryDelaysMs));
    const found = new Map<string, { messageCount: number; consumerCount: number }>();
    for (const queue of queues) {
      const answer = await passive((ch) => ch.checkQueue(queue));
      if (answer === undefined) missing.push(`queue ${queue}`);
      else found.set(queue, answer);
    }
    if (missing.length > 0)
      return fail("broker", `reachable, but missing: ${missing.join(", ")} (run billing-ops topology)`);
    const main = found.get(names.queue);
    const dlq = found.get(names.dlq);
    return pass(
      "broker",
      `reachable, topology present (${exchanges.length} exchanges, ${queues.length} queues); ` +
        `${names.queue}: ${main?.consumerCount ?? 0} consumer(s), ${main?.messageCount ?? 0} ready; ` +
        `${names.dlq}: ${dlq?.messageCount ?? 0} waiting for the archiver`,
    );
  } catch (error) {
    return fail("broker", reason(error));
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** The Stripe API answers a cheap list call with STRIPE_SECRET_KEY. */
export async function checkStripe(config: Config, log: Logger): Promise<CheckResult> {
  if (config.stripeSecretKey === undefined) return fail("stripe", "STRIPE_SECRET_KEY is not set");
  const where = config.stripeApiUrl ?? "api.stripe.com";
  try {
    const stripe = createStripeApi({
      secretKey: config.stripeSecretKey,
      apiUrl: config.stripeApiUrl,
      log,
      retries: 1,
      timeoutMs: 8000,
    });
    await stripe.call("events.list (doctor)", (client) => client.events.list({ limit: 1 }));
    return pass("stripe", `${where} answered with the key (events.list)`);
  } catch (error) {
    return fail("stripe", `${where}: ${reason(error)}`);
  }
}

/** The ingester's /readyz answers 200 (it is connected to the broker). */
export async function checkIngester(config: Config): Promise<CheckResult> {
  if (config.ingesterUrl === undefined)
    return fail("ingester", "INGESTER_URL is not set (the ingester's base URL)");
  const url = `${config.ingesterUrl}/readyz`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await response.body?.cancel();
    return response.status === 200
      ? pass("ingester", `${url} answered 200`)
      : fail("ingester", `${url} answered ${response.status} (not connected to the broker?)`);
  } catch (error) {
    return fail("ingester", `${url}: ${reason(error)}`);
  }
}

/** The reconcile cursor: a pass succeeded within 3 intervals, and the cursor is inside Stripe's retention. */
export async function checkReconciler(config: Config, nowMs = Date.now()): Promise<CheckResult> {
  const db = createDb({ url: config.databaseUrl, poolSize: 1, applicationName: "billing-ops-doctor" });
  try {
    const cursor = await readCursor(db, stripeEventsStream);
    if (cursor === undefined) {
      return fail("reconciler", "no reconciliation pass has run yet (is a reconciler process running?)");
    }
    const intervalS = config.reconcileIntervalS;
    if (cursor.lastSuccessAt === null) {
      return fail(
        "reconciler",
        `no pass has succeeded yet (last one started ${ago(cursor.lastPassStartedAt, nowMs)})`,
      );
    }
    const sinceS = Math.round((nowMs - cursor.lastSuccessAt.getTime()) / 1000);
    const lag = cursorLagS(cursor, Math.floor(nowMs / 1000)) ?? 0;
    const facts = `last successful pass ${ago(cursor.lastSuccessAt, nowMs)}, cursor lag ${seconds(lag)}, ${cursor.lastFoundMissing ?? 0} missing in the last pass`;
    if (lag > stripeEventRetentionS) {
      return fail("reconciler", `${facts}: the cursor is older than Stripe's 30-day event retention`);
    }
    if (sinceS > 3 * intervalS) {
      return fail(
        "reconciler",
        `${facts}: more than 3 intervals of ${intervalS} s (is a reconciler running?)`,
      );
    }
    return pass("reconciler", facts);
  } catch (error) {
    return fail("reconciler", reason(error));
  } finally {
    await db.destroy();
  }
}

function ago(at: Date | null, nowMs: number): string {
  return at === null ? "never" : `${seconds(Math.max(0, Math.round((nowMs - at.getTime()) / 1000)))} ago`;
}

/** 42 s, 12 min, 5 h, 3 d: the largest whole unit. */
function seconds(total: number): string {
  if (total < 120) return `${total} s`;
  if (total < 7200) return `${Math.floor(total / 60)} min`;
  if (total < 172_800) return `${Math.floor(total / 3600)} h`;
  return `${Math.floor(total / 86_400)} d`;
}

function pass(name: string, detail: string): CheckResult {
  return { name, ok: true, detail };
}

function fail(name: string, detail: string): CheckResult {
  return { name, ok: false, detail };
}

function reason(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return reason(error.errors[0]);
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return (error.message || error.name) + cause;
  }
  return String(error);
}
