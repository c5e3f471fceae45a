import type { Config } from "../../lib/config.ts";
import { createDb, type Db } from "../../lib/db/database.ts";

/** Opens a small pool for one CLI verb, runs `use`, and always closes the pool. */
export async function withDb<T>(config: Config, use: (db: Db) => Promise<T>): Promise<T> {
  const db = createDb({ url: config.databaseUrl, poolSize: 2, applicationName: "billing-ops" });
  try {
    return await use(db);
  } finally {
    await db.destroy();
  }
}
