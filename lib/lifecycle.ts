import { pathToFileURL } from "node:url";
import { type Config, ConfigError, loadConfig, type ProcessName, redactConfig } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";

/** A started process: `stop` is idempotent and bounded. */
export interface Running {
  stop(): Promise<void>;
}

export type Start = (config: Config, log: Logger) => Promise<Running>;

/** The shutdown budget: SIGTERM to exit must stay under 5 s. */
export const stopDeadlineMs = 4000;

/** True when the module at `url` is the script node was asked to run. */
export function isMain(url: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(entry).href === url;
}

/** Makes `stop` idempotent: every caller waits for the one shutdown. */
export function once(stop: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= stop();
    return stopping;
  };
}

/** Runs every cleanup even if one fails; rethrows the first failure at the end. */
export async function closeAll(steps: ReadonlyArray<() => Promise<unknown> | unknown>): Promise<void> {
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      first ??= error;
    }
  }
  if (first !== undefined) throw first;
}

/**
 * The composition root's runner: validates the config (one line and exit 1 on a bad variable),
 * starts the process, and on SIGTERM/SIGINT stops it within the deadline and exits 0. A second
 * signal forces the exit.
 */
export async function runProcess(name: ProcessName, start: Start, host: Host = process): Promise<void> {
  const config = configOrExit(name, host);
  if (config === undefined) return;
  const log = createLogger({ level: config.logLevel, name });
  host.on("uncaughtException", (error) => {
    log.fatal({ err: error }, "uncaught exception; exiting");
    host.exit(1);
  });
  host.on("unhandledRejection", (reason) => {
    log.fatal({ err: reason }, "unhandled rejection; exiting");
    host.exit(1);
  });

  log.info({ config: redactConfig(config) }, `starting ${name}`);
  let running: Running;
  try {
    running = await start(config, log);
  } catch (error) {
    log.fatal({ err: error }, `${name} failed to start`);
    host.exit(1);
    return;
  }

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, "second signal: forcing exit");
      host.exit(1);
      return;
    }
    signalled = true;
    log.info({ signal }, `stopping ${name}`);
    const deadline = setTimeout(() => {
      log.warn("stop deadline passed; exiting with work in flight (unacknowledged messages are redelivered)");
      host.exit(0);
    }, stopDeadlineMs);
    deadline.unref();
    running.stop().then(
      () => {
        clearTimeout(deadline);
        log.info(`${name} stopped`);
        host.exit(0);
      },
      (error: unknown) => {
        clearTimeout(deadline);
        log.error({ err: error }, `${name} stopped with an error`);
        host.exit(1);
      },
    );
  };
  host.on("SIGTERM", onSignal);
  host.on("SIGINT", onSignal);
}

/** What runProcess needs of `process`; tests pass their own. */
export interface Host {
  readonly env: NodeJS.ProcessEnv;
  readonly stderr: { write(text: string): unknown };
  exit(code: number): void;
  on(event: "SIGTERM" | "SIGINT", listener: (signal: NodeJS.Signals) => void): unknown;
  on(event: "uncaughtException" | "unhandledRejection", listener: (error: unknown) => void): unknown;
}

function configOrExit(name: ProcessName, host: Host): Config | undefined {
  try {
    return loadConfig(host.env, name);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    host.stderr.write(`billing-fleet ${name}: invalid configuration: ${error.message}\n`);
    host.exit(1);
    return undefined;
  }
}

/** Runs a one-shot process (release): config errors and failures are one line and exit 1. */
export async function runOnce(
  name: ProcessName,
  task: (config: Config, log: Logger) => Promise<void>,
  host: Host = process,
): Promise<void> {
  const config = configOrExit(name, host);
  if (config === undefined) return;
  const log = createLogger({ level: config.logLevel, name });
  try {
    await task(config, log);
    host.exit(0);
  } catch (error) {
    log.error({ err: error }, `${name} failed`);
    host.stderr.write(`billing-fleet ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    host.exit(1);
  }
}
