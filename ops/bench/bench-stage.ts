import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createFleet, endLeftovers, type Fleet } from "../fleet-runner/fleet.ts";
import { findLocalServices, ServiceUnreachable } from "../fleet-runner/local-services.ts";
import { recreateDatabase } from "../fleet-runner/scratch-database.ts";
import { recreateVhost } from "../fleet-runner/scratch-vhost.ts";

// What a bench run stands on, shared by `npm run bench` and `npm run bench:outage`: its own
// database and vhost (recreated, then migrated by `release`), a fleet runner whose processes a
// crash of the bench cannot leave behind, the environment they run with, and a pool to read results.

export interface BenchStage {
  readonly fleet: Fleet;
  /** The processes' environment: the stage's database and vhost, a fresh webhook secret. */
  readonly env: Readonly<Record<string, string>>;
  readonly pool: pg.Pool;
  readonly databaseUrl: string;
  readonly amqpUrl: string;
  /** The machine's PostgreSQL server (not the stage's database). */
  readonly postgresUrl: string;
  readonly secret: string;
  readonly logDir: string;
}

/** Sets up the stage named `name`; undefined (having said why) when a local service is unreachable. */
export async function setUpStage(options: {
  root: string;
  name: string;
  step: (text: string) => void;
}): Promise<BenchStage | undefined> {
  const { root, name, step } = options;
  let services: Awaited<ReturnType<typeof findLocalServices>>;
  try {
    services = await findLocalServices(process.env);
  } catch (error) {
    if (error instanceof ServiceUnreachable) {
      console.error(error.message);
      return undefined;
    }
    throw error;
  }
  const databaseUrl = await recreateDatabase(services.postgresUrl, name);
  const vhost = await recreateVhost(services.amqpUrl, name, [5000, 30000, 120000, 600000, 1800000]);
  const logDir = mkdtempSync(join(tmpdir(), `${name.replaceAll("_", "-")}-`));
  const pidFile = join(tmpdir(), `${name}.pids`);
  endLeftovers(pidFile, root);
  const fleet = createFleet({ root, logDir, pidFile });
  step(`database ${name}, vhost ${name} (${vhost.how}); logs in ${logDir}`);
  const secret = `whsec_bench_${randomBytes(16).toString("hex")}`;
  const env = {
    DATABASE_URL: databaseUrl,
    AMQP_URL: vhost.url,
    STRIPE_SECRET_KEY: "sk_test_bench",
    STRIPE_WEBHOOK_SECRET: secret,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  };
  await fleet.runProcfile("release", "release", env, 60_000);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  pool.on("error", () => {});
  return {
    fleet,
    env,
    pool,
    databaseUrl,
    amqpUrl: vhost.url,
    postgresUrl: services.postgresUrl,
    secret,
    logDir,
  };
}
