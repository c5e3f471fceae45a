import { Kysely, type LogConfig, PostgresDialect } from "kysely";
import pg from "pg";
import { preparingPool } from "./prepared-statements.ts";
import type { Database } from "./schema/database.ts";

export type Db = Kysely<Database>;

// int8 (bigint) arrives as a string by default; money columns are bigint minor units, read as
// numbers only while they are exact.
pg.types.setTypeParser(pg.types.builtins.INT8, (text: string) => {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} is beyond the safe integer range`);
  return value;
});

/**
 * A pool for the billing schema; every query is qualified with `billing`, and one that repeats is
 * prepared once per connection (prepared-statements.ts). `log` sees every statement.
 */
export function createDb(options: {
  url: string;
  poolSize: number;
  applicationName?: string;
  log?: LogConfig;
}): Db {
  const pool = new pg.Pool({
    connectionString: withSessionOptions(options.url),
    max: options.poolSize,
    application_name: options.applicationName ?? "billing-fleet",
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
  });
  // An idle client that loses its connection emits here; the next query reconnects.
  pool.on("error", () => {});
  // A client that loses its connection mid-transaction emits "error" on itself as well; the
  // query in flight still rejects (and is retried as transient), so this must not crash.
  pool.on("connect", (client) => client.on("error", () => {}));
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool: preparingPool(pool) }),
    ...(options.log === undefined ? {} : { log: options.log }),
  }).withSchema("billing");
}

// A prepared statement is still planned for its parameters at every execution: a generic plan,
// cached while a table grew from empty, kept its seq scans (10 ms instead of ~1 for a 250-row lock).
const planEachTime = "-c plan_cache_mode=force_custom_plan";

/** The URL with our server options added to those the deployment gave (the URL's, else PGOPTIONS). */
function withSessionOptions(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url; // not a URL pg could read either: its own error says so
  }
  const given = parsed.searchParams.get("options") ?? process.env.PGOPTIONS;
  parsed.searchParams.set("options", given === undefined ? planEachTime : `${given} ${planEachTime}`);
  return parsed.toString();
}

/** True when the database answers a trivial query. */
export async function pingDb(db: Db): Promise<boolean> {
  try {
    await db.selectNoFrom((eb) => eb.val(1).as("one")).execute();
    return true;
  } catch {
    return false;
  }
}
