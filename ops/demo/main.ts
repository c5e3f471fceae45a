import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { parsePrometheusText, type Sample } from "../../lib/ops/prometheus-text.ts";
import { createFleet, endLeftovers, type Fleet } from "../fleet-runner/fleet.ts";
import { freePort } from "../fleet-runner/free-port.ts";
import { findLocalServices, ServiceUnreachable } from "../fleet-runner/local-services.ts";
import { runFleetMain } from "../fleet-runner/run-main.ts";
import { recreateDatabase } from "../fleet-runner/scratch-database.ts";
import { recreateVhost } from "../fleet-runner/scratch-vhost.ts";
import { waitForReady } from "../fleet-runner/wait.ts";
import { connectAmqpCommands } from "./amqp-commands.ts";
import { DemoUsageError, demoUsage, parseDemoArgs } from "./args.ts";
import { planBillingDay } from "./billing-day.ts";
import { commandBatches } from "./command-batches.ts";
import { dayPhases, runBillingDay } from "./day-runner.ts";
import { consoleNote, startDemoConsole, untilStopped } from "./demo-console.ts";
import { drainFleet } from "./drain.ts";
import { emulatorControl } from "./emulator-control.ts";
import { listenToDomainEvents } from "./events-listener.ts";
import { gatherFacts } from "./facts.ts";
import { createHttpCommands } from "./http-commands.ts";
import { publishMalformedCommand } from "./poison-command.ts";
import { createProcessUsers } from "./process-users.ts";
import { createProgress, type Progress } from "./progress.ts";
import { dayChecks, renderSummary } from "./summary.ts";

// `npm run demo`: the fleet's main job, end to end on this machine's PostgreSQL and RabbitMQ.

const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const demoName = "billing_demo";
// Short ladder: an event that arrives before what it depends on is retried in seconds, not minutes.
const retryDelaysMs = [500, 2000, 5000];
const phases = ["services", "release", "starting the fleet", ...dayPhases, "draining the queue"];
// The share of webhooks the emulator loses during the day, and how often the reconciler looks.
const lostWebhooks = 0.05;
const reconcileIntervalS = 1;

let fleet: Fleet | undefined;
let activeProgress: Progress | undefined;
// The day's result, once known: with --keep the demo then waits for Ctrl-C and exits with it.
let dayStatus: number | undefined;

async function main(): Promise<number> {
  let args: ReturnType<typeof parseDemoArgs>;
  try {
    args = parseDemoArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof DemoUsageError)) throw error;
    console.error(`demo: ${error.message}\n\n${demoUsage}`);
    return 2;
  }
  if (args === "help") {
    console.log(demoUsage);
    return 0;
  }
  const startedAt = Date.now();
  const progress = createProgress(process.stdout, phases.length);
  activeProgress = progress;
  const plan = planBillingDay(args.events, args.seed);
  console.log(
    `billing-fleet demo: a simulated billing day, ${plan.accounts.length} accounts (~${args.events} Stripe events)`,
  );

  progress.phase("services", 0);
  let services: Awaited<ReturnType<typeof findLocalServices>>;
  try {
    services = await findLocalServices(process.env);
  } catch (error) {
    progress.close();
    if (error instanceof ServiceUnreachable) {
      console.error(`\n${error.message}`);
      return 1;
    }
    throw error;
  }
  const databaseUrl = await recreateDatabase(services.postgresUrl, demoName);
  const vhost = await recreateVhost(services.amqpUrl, demoName, retryDelaysMs);
  progress.note(`  database ${demoName} recreated; RabbitMQ vhost ${demoName} (${vhost.how})`);
  progress.done();

  const logDir = mkdtempSync(join(tmpdir(), "billing-demo-"));
  const pidFile = join(tmpdir(), "billing-demo.pids");
  const leftovers = endLeftovers(pidFile, root);
  if (leftovers > 0) progress.note(`  ended ${leftovers} processes left by an earlier demo run`);
  fleet = createFleet({ root, logDir, pidFile });

  const [webPort, emulatorPort, ...metricsPorts] = await Promise.all(
    [1, 2, 3, 4, 5, 6].map(() => freePort()),
  );
  const webhookSecret = `whsec_demo_${randomBytes(16).toString("hex")}`;
  const commandToken = randomBytes(24).toString("hex");
  const stripeKey = "sk_test_billing_demo";
  const emulatorUrl = `http://127.0.0.1:${emulatorPort}`;
  const webUrl = `http://127.0.0.1:${webPort}`;
  const env = {
    DATABASE_URL: databaseUrl,
    AMQP_URL: vhost.url,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    RETRY_DELAYS_MS: retryDelaysMs.join(","),
    STRIPE_SECRET_KEY: stripeKey,
    STRIPE_API_URL: emulatorUrl,
    STRIPE_WEBHOOK_SECRET: webhookSecret,
    COMMAND_TOKENS: `demo:${commandToken}:*`,
    // one service sends the whole day's commands: well above the per-token default
    COMMAND_RATE_LIMIT: "5000/10000",
  };

  progress.phase("release", 0);
  await fleet.runProcfile("release", "release", env, 60_000);
  // release ran as the owners; every other process logs in as its own user
  const users = await createProcessUsers({ databaseUrl, amqpUrl: vhost.url });
  progress.note(users.note);
  progress.done();

  progress.phase("starting the fleet", 7);
  const emulator = fleet.startScript(
    "ops/stripe-emulator/main.ts",
    [
      ...["--port", String(emulatorPort), "--webhook-url", `${webUrl}/webhooks/stripe`],
      ...["--webhook-secret", webhookSecret, "--duplicates", "0.1", "--reorder", "8", "--delay", "0-20"],
      ...["--concurrency", "8", "--seed", String(args.seed), "--retry-base-ms", "200"],
    ],
    "stripe-emulator",
    {},
  );
  const web = fleet.startProcfile("web", "web", { ...env, ...users.web, PORT: String(webPort) });
  const workers = [0, 1].map((i) =>
    (fleet as Fleet).startProcfile("worker", `worker-${i + 1}`, {
      ...env,
      ...users.worker,
      METRICS_PORT: String(metricsPorts[i]),
    }),
  );
  const relay = fleet.startProcfile("relay", "relay", {
    ...env,
    ...users.relay,
    METRICS_PORT: String(metricsPorts[2]),
  });
  // Heals the webhooks the emulator drops in the day's lossy stretch; a pass every second.
  const reconciler = fleet.startProcfile("reconciler", "reconciler", {
    ...env,
    ...users.reconciler,
    METRICS_PORT: String(metricsPorts[3]),
    RECONCILE_INTERVAL_S: String(reconcileIntervalS),
  });
  const readiness = [
    waitForReady(`${emulatorUrl}/_emulator/health`, emulator),
    waitForReady(`${webUrl}/readyz`, web),
    ...workers.map((w, i) => waitForReady(`http://127.0.0.1:${metricsPorts[i]}/readyz`, w)),
    waitForReady(`http://127.0.0.1:${metricsPorts[2]}/readyz`, relay),
    waitForReady(`http://127.0.0.1:${metricsPorts[3]}/readyz`, reconciler),
  ];
  let ready = 0;
  await Promise.all(readiness.map((p) => p.then(() => progress.update(++ready))));
  const listener = await listenToDomainEvents(users.clientAmqpUrl);
  const amqp = await connectAmqpCommands(users.clientAmqpUrl);
  if (amqp === undefined)
    progress.note("  lib/client not in this tree: every command goes over POST /v1/commands");
  const runId = `day-${Date.now().toString(36)}`;
  const poisonId = `${runId}:malformed-deposit`;
  await publishMalformedCommand(users.clientAmqpUrl, poisonId);
  progress.done();

  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  pool.on("error", () => {});
  try {
    const control = emulatorControl(emulatorUrl, stripeKey);
    const batches = commandBatches(pool, createHttpCommands(webUrl, commandToken), amqp);
    // The lossy stretch: the whole day, the emulator loses a share of webhooks (an endpoint
    // outage); only the reconciler, reading GET /v1/events, can bring those events in.
    await control.setDelivery({ dropRate: lostWebhooks });
    progress.note(
      `  the emulator now drops ${lostWebhooks * 100}% of webhooks; the reconciler (a pass every ${reconcileIntervalS} s) heals them`,
    );
    const record = await runBillingDay({ plan, runId, pool, batches, emulator: control, progress });
    await control.setDelivery({ dropRate: 0 });
    const drained = await drainFleet({
      pool,
      emulator: control,
      listener,
      poisonId,
      progress,
      timeoutMs: 60_000,
    });
    const workerMetrics: Sample[] = [];
    for (const port of metricsPorts.slice(0, 2)) {
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
      workerMetrics.push(...parsePrometheusText(text));
    }
    const reconcilerMetrics = parsePrometheusText(
      await fetch(`http://127.0.0.1:${metricsPorts[3]}/metrics`).then((r) => r.text()),
    );
    const facts = await gatherFacts({
      pool,
      plan,
      record,
      drained,
      deliveries: await control.deliveries(),
      workerMetrics,
      seen: listener.seen(),
      sent: batches.counts,
      expectedDeadLetters: 1,
      seconds: (Date.now() - startedAt) / 1000,
      logDir,
      reconciler: { dropRate: lostWebhooks, metrics: reconcilerMetrics },
    });
    progress.close();
    const checks = dayChecks(facts);
    console.log(renderSummary(facts, checks));
    dayStatus = checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    progress.close();
    await amqp.close().catch(() => undefined);
    await listener.close();
    await pool.end();
  }
  const login = await startDemoConsole(fleet, env, {
    web: webUrl,
    ...Object.fromEntries(workers.map((w, i) => [w.label, `http://127.0.0.1:${metricsPorts[i]}`])),
    relay: `http://127.0.0.1:${metricsPorts[2]}`,
    reconciler: `http://127.0.0.1:${metricsPorts[3]}`,
  });
  console.log(
    consoleNote(login, {
      keep: args.keep,
      databaseUrl,
      amqpUrl: vhost.url,
      retryDelaysMs: env.RETRY_DELAYS_MS,
    }),
  );
  if (args.keep) await untilStopped();
  return dayStatus ?? 1;
}

runFleetMain({
  name: "demo",
  main,
  fleet: () => fleet,
  onSignal: () => activeProgress?.close(),
  statusAfterSignal: () => dayStatus,
});
