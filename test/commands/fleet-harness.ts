import type { Db } from "../../lib/db/database.ts";
import type { Running } from "../../lib/lifecycle.ts";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";
import { startRelay } from "../../workers/relay.ts";
import { release } from "../../workers/release.ts";
import { startWorker } from "../../workers/worker.ts";
import { testConfig, testLogger, testSecrets } from "../helpers/config.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";

// END-TO-END: the real processes' composition roots (release, worker ×N, relay, and the ingester
// when a test asks for it) on one database and one vhost, with the Stripe emulator as Stripe.

/** The token the end-to-end tests send commands over HTTP with. */
export const commandToken = "tok_e2e_0123456789abcdef";

export interface Fleet {
  readonly database: TestDatabase;
  readonly db: Db;
  readonly vhost: TestVhost;
  readonly emulator: StripeEmulator;
  /** The ingester's base URL, when started with web. */
  readonly webUrl: string | undefined;
  /** The environment every process got (for child processes). */
  readonly env: Record<string, string>;
  /** Starts one more in-process worker. */
  addWorker(): Promise<Running>;
  stop(): Promise<void>;
}

const log = testLogger("e2e");

/** Starts the fleet; the ingester only when `web` (its module is loaded on demand). */
export async function startFleet(options: { workers?: number; web?: boolean } = {}): Promise<Fleet> {
  const database = await createTestDatabase();
  const vhost = testVhost();
  await vhost.create();
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    AMQP_URL: vhost.url,
    STRIPE_SECRET_KEY: testSecrets.stripeKey,
    STRIPE_WEBHOOK_SECRET: testSecrets.webhookSecret,
    COMMAND_TOKENS: `e2e-service:${commandToken}:*`,
    RETRY_DELAYS_MS: "300,600",
    METRICS_PORT: "0",
    PORT: "0",
  };
  const config = (process: "web" | "worker" | "relay" | "release") =>
    testConfig(process, { databaseUrl: database.url, amqpUrl: vhost.url, ...env });
  await release(config("release"), log);

  const running: Running[] = [];
  let webUrl: string | undefined;
  if (options.web === true) {
    const { startWeb } = await import("../../workers/web.ts");
    const web = await startWeb(config("web"), log);
    running.push(web);
    webUrl = `http://127.0.0.1:${web.port}`;
    const readyz = `${webUrl}/readyz`;
    // the ingester answers 503 until its broker connection is up
    await waitFor(async () => (await fetch(readyz)).status === 200, "the ingester ready", 10_000);
  }
  const emulator = await startStripeEmulator({
    webhookSecret: testSecrets.webhookSecret,
    ...(webUrl === undefined ? {} : { webhookUrl: `${webUrl}/webhooks/stripe` }),
  });
  env.STRIPE_API_URL = emulator.url;
  const addWorker = async () => {
    const worker = await startWorker(config("worker"), log);
    running.push(worker);
    return worker;
  };
  for (let i = 0; i < (options.workers ?? 1); i++) await addWorker();
  running.push(await startRelay(config("relay"), log, { idleMaxMs: 100 }));

  return {
    database,
    db: database.db,
    vhost,
    emulator,
    webUrl,
    env,
    addWorker,
    async stop() {
      await Promise.allSettled(running.map((r) => r.stop()));
      await emulator.close();
      await vhost.delete();
      await database.drop();
    },
  };
}
