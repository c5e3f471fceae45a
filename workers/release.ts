import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { declareTopologyOnce } from "../lib/amqp/declare-once.ts";
import type { Config } from "../lib/config.ts";
import { ensureDatabase } from "../lib/db/ensure-database.ts";
import { migrateUp } from "../lib/db/migrator.ts";
import { isMain, runOnce } from "../lib/lifecycle.ts";
import type { Logger } from "../lib/log.ts";

/** `release`: creates the database if missing, applies migrations, declares the topology. Idempotent. */
export async function release(config: Config, log: Logger): Promise<void> {
  if (await ensureDatabase(config.databaseUrl)) log.info("created the database");
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: config.databaseUrl, max: 1 }) }),
  });
  try {
    const applied = await migrateUp(db);
    log.info({ applied }, applied.length === 0 ? "migrations already current" : "migrations applied");
  } finally {
    await db.destroy();
  }
  await declareTopologyOnce(config.amqpUrl, config.retryDelaysMs);
  log.info("RabbitMQ topology declared");
}

if (isMain(import.meta.url)) void runOnce("release", release);
