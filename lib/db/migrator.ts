import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Kysely,
  type Migration,
  type MigrationProvider,
  type MigrationResultSet,
  Migrator,
  sql,
} from "kysely";

// Migrations are plain numbered files in sql/: the part after a `-- up` line applies, the part
// after `-- down` reverts. Kysely's Migrator keeps its bookkeeping in public.kysely_migration.

/** The sql/ folder of the package, whether running from source or from dist/. */
export function migrationsFolder(): string {
  let dir = fileURLToPath(new URL(".", import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    const candidate = join(dir, "sql");
    if (existsSync(join(candidate, "0001_schema.sql"))) return candidate;
    dir = join(dir, "..");
  }
  throw new Error("cannot find the sql/ migrations folder");
}

/** Splits one migration file into its up and down parts. */
export function parseMigration(name: string, text: string): { up: string; down: string } {
  const upAt = text.search(/^-- up\s*$/m);
  const downAt = text.search(/^-- down\s*$/m);
  if (upAt < 0 || downAt < 0 || downAt < upAt) {
    throw new Error(`migration ${name}: needs a "-- up" line followed by a "-- down" line`);
  }
  const up = text
    .slice(upAt, downAt)
    .replace(/^-- up\s*$/m, "")
    .trim();
  const down = text
    .slice(downAt)
    .replace(/^-- down\s*$/m, "")
    .trim();
  if (up === "" || down === "")
    throw new Error(`migration ${name}: the up and the down step must both have SQL`);
  return { up, down };
}

/** Provides every `NNNN_name.sql` of a folder as a Kysely migration. */
export function sqlFileProvider(folder: string): MigrationProvider {
  return {
    async getMigrations() {
      const files = (await readdir(folder)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
      const migrations: Record<string, Migration> = {};
      for (const file of files) {
        const { up, down } = parseMigration(file, await readFile(join(folder, file), "utf8"));
        migrations[file.replace(/\.sql$/, "")] = {
          up: async (db) => void (await sql.raw(up).execute(db)),
          down: async (db) => void (await sql.raw(down).execute(db)),
        };
      }
      return migrations;
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the migrator runs DDL on any database type
type AnyDb = Kysely<any>;

function migrator(db: AnyDb, folder: string): Migrator {
  return new Migrator({ db, provider: sqlFileProvider(folder) });
}

function settle(result: MigrationResultSet): string[] {
  if (result.error !== undefined) {
    const failed = result.results?.find((r) => r.status === "Error");
    const reason = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(`migration ${failed?.migrationName ?? "?"} failed: ${reason}`);
  }
  return (result.results ?? []).map(
    (r) => `${r.direction === "Up" ? "applied" : "reverted"} ${r.migrationName}`,
  );
}

/** Applies every pending migration; returns one line per migration applied. */
export async function migrateUp(db: AnyDb, folder = migrationsFolder()): Promise<string[]> {
  return settle(await migrator(db, folder).migrateToLatest());
}

/** Reverts the newest applied migration; returns what it reverted (empty when none was applied). */
export async function migrateDown(db: AnyDb, folder = migrationsFolder()): Promise<string[]> {
  return settle(await migrator(db, folder).migrateDown());
}

/** Names of the migrations not yet applied. */
export async function pendingMigrations(db: AnyDb, folder = migrationsFolder()): Promise<string[]> {
  const all = await migrator(db, folder).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
