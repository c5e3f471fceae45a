import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { ensureDatabase } from "../../../lib/db/ensure-database.ts";
import { migrateDown, migrateUp } from "../../../lib/db/migrator.ts";
import { UsageError, type Verb } from "../verb.ts";

export const migrate: Verb = {
  words: ["migrate"],
  summary: "apply pending migrations (up, the default) or revert the newest one (down)",
  usage: "migrate [up|down]",
  options: {},
  async run({ config }, _values, positionals) {
    const direction = positionals[0] ?? "up";
    if (positionals.length > 1 || (direction !== "up" && direction !== "down")) {
      throw new UsageError(`migrate takes "up" or "down", not "${positionals.join(" ")}"`);
    }
    if (direction === "up") await ensureDatabase(config.databaseUrl);
    const db = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: config.databaseUrl, max: 1 }) }),
    });
    try {
      const done = direction === "up" ? await migrateUp(db) : await migrateDown(db);
      const lines = done.length > 0 ? done : [direction === "up" ? "already current" : "nothing to revert"];
      return { ok: true, lines, json: { direction, migrations: done } };
    } finally {
      await db.destroy();
    }
  },
};
