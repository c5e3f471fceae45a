import { createHash } from "node:crypto";
import { brokerNodes } from "./amqp/broker-nodes.ts";
import { brokerUserOf } from "./amqp/broker-url.ts";
import { type CommandType, isCommandType } from "./domain/command-types.ts";

// The environment is read here, once, into a frozen object; nothing below the entry points
// reads process.env. A bad value stops the process with one line naming the variable.

export type ProcessName = "web" | "worker" | "relay" | "release" | "reconciler" | "ops" | "console";
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface CommandToken {
  readonly service: string;
  /** sha256 of the token: compared in constant time, never the token itself. */
  readonly sha256: Buffer;
  /** The command types this token may send; "*" allows every type. */
  readonly scopes: ReadonlySet<CommandType> | "*";
}

/** A person (or script) who may use the ops console; the name is recorded on every action. */
export interface ConsoleUser {
  readonly name: string;
  /** sha256 of the token: compared in constant time, never the token itself. */
  readonly sha256: Buffer;
}

/** A process whose /metrics and /readyz the console reads. */
export interface MetricsTarget {
  readonly name: string;
  /** Base URL, without a trailing slash. */
  readonly url: string;
}

export interface RateLimit {
  /** Tokens refilled per second. */
  readonly perSecond: number;
  /** Bucket size: the largest burst. */
  readonly burst: number;
}

export interface Config {
  readonly databaseUrl: string;
  /** One node's URL, or a cluster's nodes comma-separated (lib/amqp/broker-nodes.ts splits it). */
  readonly amqpUrl: string;
  /** The broker user AMQP_URL logs in as: what RabbitMQ checks a published user_id against. */
  readonly amqpUser: string;
  /**
   * Broker users whose `stripe.*` messages the worker applies (STRIPE_EVENT_PUBLISHERS; default
   * the worker's own user). The worker's own user is always among them: its retries carry it.
   */
  readonly stripeEventPublishers: readonly string[];
  /** How ops runs rabbitmqctl (RABBITMQCTL: a command and its leading arguments). */
  readonly rabbitmqctl: readonly string[];
  readonly port: number;
  /** 0 turns the metrics and health server off. */
  readonly metricsPort: number;
  readonly stripeWebhookSecrets: readonly string[];
  readonly stripeWebhookToleranceS: number;
  readonly stripeSecretKey: string | undefined;
  readonly stripeApiUrl: string | undefined;
  /** The ingester's base URL, for `billing-ops doctor`'s /readyz check (ops only). */
  readonly ingesterUrl: string | undefined;
  readonly commandTokens: readonly CommandToken[];
  readonly commandRateLimit: RateLimit;
  readonly workerPrefetch: number;
  /** Most Stripe events a worker applies in one transaction; 1 turns batching off. */
  readonly workerBatchSize: number;
  readonly retryDelaysMs: readonly number[];
  readonly logLevel: LogLevel;
  readonly pgPoolSize: number;
  readonly publishTimeoutMs: number;
  /** The ingester's cap on publishes awaiting a confirm; beyond it a request gets 503. */
  readonly ingestMaxInFlight: number;
  /** Stripe API requests per second for all Stripe calls of one process (one shared token bucket). */
  readonly stripeRateLimit: number;
  /** `reconciler`: seconds between passes over the Events API. */
  readonly reconcileIntervalS: number;
  /** `reconciler`: how far back the first pass (no cursor yet) lists, in seconds. */
  readonly reconcileLookbackS: number;
  /** `reconciler`: each pass lists from the cursor minus this many seconds. */
  readonly reconcileOverlapS: number;
  /** The ops console's HTTP port. */
  readonly consolePort: number;
  /** Who may use the ops console (required by `console`). */
  readonly consoleUsers: readonly ConsoleUser[];
  /** Processes whose /metrics and /readyz the console shows (rates, readiness). */
  readonly consoleMetricsUrls: readonly MetricsTarget[];
}

/** A bad or missing variable: the message is the one line the process prints before exiting 1. */
export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = "ConfigError";
    this.variable = variable;
  }
}

export const defaults = {
  DATABASE_URL: "postgres://localhost:5432/billing",
  AMQP_URL: "amqp://guest:guest@localhost:5672",
  PORT: "8080",
  METRICS_PORT: "9464",
  STRIPE_WEBHOOK_TOLERANCE_S: "300",
  // Chosen from `npm run bench` (see README): two batches of 250, one applying and one gathering.
  WORKER_PREFETCH: "500",
  // Also from `npm run bench`: a batch costs a fixed number of statements, so bigger is cheaper
  // per event until the batch's locks and its JSON start to cost more than they save.
  WORKER_BATCH_SIZE: "250",
  RETRY_DELAYS_MS: "5000,30000,120000,600000,1800000",
  LOG_LEVEL: "info",
  COMMAND_RATE_LIMIT: "50/100",
  PG_POOL_SIZE: "10",
  PUBLISH_TIMEOUT_MS: "5000",
  // Bodies are at most 1 MiB, so this also bounds the memory held by unconfirmed publishes.
  INGEST_MAX_IN_FLIGHT: "500",
  // Stripe allows 100 requests/s per account in live mode, 25/s in a sandbox and 25/s on any one
  // endpoint: one process at 20/s stays under each, and a few processes stay under the account's.
  STRIPE_RATE_LIMIT: "20",
  RECONCILE_INTERVAL_S: "300",
  RECONCILE_LOOKBACK: "3d",
  // Wider than the few seconds an event takes to appear in the list; costs one re-read of 5 min.
  RECONCILE_OVERLAP_S: "300",
  RABBITMQCTL: "rabbitmqctl",
  CONSOLE_PORT: "8081",
} as const;

const requiredStripeKey: ReadonlySet<ProcessName> = new Set(["worker", "reconciler"]);
const logLevels: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

type Env = Readonly<Record<string, string | undefined>>;

/** Parses and validates the environment for one process; throws ConfigError on the first bad value. */
export function loadConfig(env: Env, process: ProcessName): Config {
  const read = (name: keyof typeof defaults): string => {
    const value = env[name];
    return value === undefined || value.trim() === "" ? defaults[name] : value.trim();
  };
  const optional = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };

  const secrets = parseWebhookSecrets(optional("STRIPE_WEBHOOK_SECRET"));
  if (process === "web" && secrets.length === 0) {
    throw new ConfigError(
      "STRIPE_WEBHOOK_SECRET",
      "required by web (one or more whsec_… secrets, comma-separated)",
    );
  }
  const stripeSecretKey = optional("STRIPE_SECRET_KEY");
  if (stripeSecretKey !== undefined && !/^(sk|rk)_\S+$/.test(stripeSecretKey)) {
    throw new ConfigError("STRIPE_SECRET_KEY", "must start with sk_ (or rk_)");
  }
  if (requiredStripeKey.has(process) && stripeSecretKey === undefined) {
    throw new ConfigError("STRIPE_SECRET_KEY", `required by ${process} (an sk_… key)`);
  }
  const consoleUsers = parseConsoleUsers(optional("CONSOLE_USERS"));
  if (process === "console" && consoleUsers.length === 0) {
    throw new ConfigError("CONSOLE_USERS", "required by console (name:token,…; a token may be sha256=<hex>)");
  }

  // one node, or a cluster's nodes separated by commas (they share users and vhosts)
  const amqpUrl = parseBrokerUrls("AMQP_URL", read("AMQP_URL"));
  const amqpUser = brokerUserOf(amqpUrl);
  return Object.freeze({
    databaseUrl: parseUrl("DATABASE_URL", read("DATABASE_URL"), ["postgres:", "postgresql:"], true),
    amqpUrl,
    amqpUser,
    stripeEventPublishers: Object.freeze(
      parseBrokerUsers("STRIPE_EVENT_PUBLISHERS", optional("STRIPE_EVENT_PUBLISHERS"), amqpUser),
    ),
    rabbitmqctl: Object.freeze(read("RABBITMQCTL").split(/\s+/)),
    port: parseInteger("PORT", read("PORT"), 0, 65535),
    metricsPort: parseInteger("METRICS_PORT", read("METRICS_PORT"), 0, 65535),
    stripeWebhookSecrets: Object.freeze(secrets),
    stripeWebhookToleranceS: parseInteger(
      "STRIPE_WEBHOOK_TOLERANCE_S",
      read("STRIPE_WEBHOOK_TOLERANCE_S"),
      1,
      86400,
    ),
    stripeSecretKey,
    stripeApiUrl: parseOptionalHttpUrl("STRIPE_API_URL", optional("STRIPE_API_URL")),
    ingesterUrl: parseOptionalHttpUrl("INGESTER_URL", optional("INGESTER_URL")),
    commandTokens: Object.freeze(parseCommandTokens(optional("COMMAND_TOKENS"))),
    commandRateLimit: parseRateLimit("COMMAND_RATE_LIMIT", read("COMMAND_RATE_LIMIT")),
    workerPrefetch: parseInteger("WORKER_PREFETCH", read("WORKER_PREFETCH"), 1, 65535),
    workerBatchSize: parseInteger("WORKER_BATCH_SIZE", read("WORKER_BATCH_SIZE"), 1, 1000),
    retryDelaysMs: Object.freeze(parseRetryDelays("RETRY_DELAYS_MS", env.RETRY_DELAYS_MS)),
    logLevel: parseLogLevel(read("LOG_LEVEL")),
    pgPoolSize: parseInteger("PG_POOL_SIZE", read("PG_POOL_SIZE"), 1, 1000),
    publishTimeoutMs: parseInteger("PUBLISH_TIMEOUT_MS", read("PUBLISH_TIMEOUT_MS"), 100, 120000),
    ingestMaxInFlight: parseInteger("INGEST_MAX_IN_FLIGHT", read("INGEST_MAX_IN_FLIGHT"), 1, 100000),
    stripeRateLimit: parseInteger("STRIPE_RATE_LIMIT", read("STRIPE_RATE_LIMIT"), 1, 10000),
    reconcileIntervalS: parseInteger("RECONCILE_INTERVAL_S", read("RECONCILE_INTERVAL_S"), 1, 86400),
    reconcileLookbackS: parseLookback("RECONCILE_LOOKBACK", read("RECONCILE_LOOKBACK")),
    reconcileOverlapS: parseInteger("RECONCILE_OVERLAP_S", read("RECONCILE_OVERLAP_S"), 0, 86400),
    consolePort: parseInteger("CONSOLE_PORT", read("CONSOLE_PORT"), 0, 65535),
    consoleUsers: Object.freeze(consoleUsers),
    consoleMetricsUrls: Object.freeze(parseMetricsTargets(optional("CONSOLE_METRICS_URLS"))),
  });
}

/** The config as it may be logged: secrets and credentials replaced. */
export function redactConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    databaseUrl: redactUrl(config.databaseUrl),
    amqpUrl: brokerNodes(config.amqpUrl).map(redactUrl).join(","),
    stripeWebhookSecrets: config.stripeWebhookSecrets.map(() => "[redacted]"),
    stripeSecretKey: config.stripeSecretKey === undefined ? undefined : "[redacted]",
    commandTokens: config.commandTokens.map((t) => ({
      service: t.service,
      scopes: t.scopes === "*" ? "*" : [...t.scopes],
    })),
    consoleUsers: config.consoleUsers.map((u) => u.name),
  };
}

/** A URL with its password replaced, safe for logs. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password !== "") url.password = "***";
    return url.toString();
  } catch {
    return "[unparseable url]";
  }
}

function parseUrl(name: string, raw: string, protocols: readonly string[], needsPath: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a URL (expected ${protocols[0]}//host:port/…)`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `unsupported scheme "${url.protocol}" (expected ${protocols.join(" or ")})`);
  }
  if (url.hostname === "") throw new ConfigError(name, "has no host");
  if (needsPath && url.pathname.replace(/^\//, "") === "") throw new ConfigError(name, "names no database");
  return raw;
}

/** A node URL, or several comma-separated (a cluster); normalised to "url,url". */
function parseBrokerUrls(name: string, raw: string): string {
  const nodes = brokerNodes(raw);
  if (nodes.length === 0) throw new ConfigError(name, "names no node");
  nodes.forEach((node, i) => {
    try {
      parseUrl(name, node, ["amqp:", "amqps:"], false);
    } catch (error) {
      if (!(error instanceof ConfigError) || nodes.length === 1) throw error;
      throw new ConfigError(name, `node ${i + 1}: ${error.message.slice(name.length + 2)}`);
    }
  });
  return nodes.join(",");
}

function parseOptionalHttpUrl(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, "not a URL (expected http(s)://host:port)");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(name, `unsupported scheme "${url.protocol}" (expected http: or https:)`);
  }
  return raw.replace(/\/+$/, "");
}

function parseInteger(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `not a whole number: "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

const durationUnitS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
// Stripe keeps events for 30 days: a longer first look-back could not list anything more.
const maxLookbackS = 30 * 86400;

/** A whole number and a unit (s, m, h, d), e.g. "3d"; returns seconds. */
function parseLookback(name: string, raw: string): number {
  const match = /^(\d{1,9})([smhd])$/.exec(raw);
  if (match === null)
    throw new ConfigError(name, `not a duration: "${raw}" (a whole number and s, m, h or d: 3d)`);
  const seconds = Number(match[1]) * durationUnitS[match[2] as keyof typeof durationUnitS];
  if (seconds < 1 || seconds > maxLookbackS) {
    throw new ConfigError(name, `must be between 1s and 30d (Stripe keeps events for 30 days), got ${raw}`);
  }
  return seconds;
}

function parseLogLevel(raw: string): LogLevel {
  const level = logLevels.find((l) => l === raw.toLowerCase());
  if (level === undefined) throw new ConfigError("LOG_LEVEL", `must be one of ${logLevels.join(", ")}`);
  return level;
}

function parseWebhookSecrets(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const secrets = raw.split(",").map((s) => s.trim());
  secrets.forEach((secret, i) => {
    if (!/^whsec_\S+$/.test(secret)) {
      throw new ConfigError("STRIPE_WEBHOOK_SECRET", `entry ${i + 1} does not start with whsec_`);
    }
  });
  return secrets;
}

/** Comma-separated broker user names; the worker's own user is always one of them. */
function parseBrokerUsers(name: string, raw: string | undefined, own: string): string[] {
  const users = (raw ?? "").split(",").map((u) => u.trim());
  if (raw !== undefined && users.some((u) => u === "" || /\s/.test(u))) {
    throw new ConfigError(name, "expected broker user names, comma-separated (no blanks)");
  }
  return [...new Set([own, ...users.filter((u) => u !== "")])];
}

function parseRetryDelays(name: string, raw: string | undefined): number[] {
  const text = raw === undefined ? defaults.RETRY_DELAYS_MS : raw.trim();
  if (text === "") return [];
  const delays = text.split(",").map((part) => parseInteger(name, part.trim(), 1, 7 * 24 * 3600 * 1000));
  if (new Set(delays).size !== delays.length) throw new ConfigError(name, "has a step twice");
  return delays;
}

function parseRateLimit(name: string, raw: string): RateLimit {
  const match = /^(\d+)\/(\d+)$/.exec(raw);
  if (match === null) throw new ConfigError(name, `expected "<per second>/<burst>", e.g. "50/100"`);
  const perSecond = Number(match[1]);
  const burst = Number(match[2]);
  if (perSecond < 1 || burst < 1) throw new ConfigError(name, "rate and burst must be at least 1");
  return Object.freeze({ perSecond, burst });
}

/** `service:token:scope+scope,…`; a token may be given as `sha256=<hex>`. */
function parseCommandTokens(raw: string | undefined): CommandToken[] {
  if (raw === undefined) return [];
  const name = "COMMAND_TOKENS";
  const seen = new Set<string>();
  return raw.split(",").map((entry, i) => {
    const parts = entry.trim().split(":");
    const [service, token, scopeText] = parts;
    if (parts.length !== 3 || !service || !token || !scopeText) {
      throw new ConfigError(name, `entry ${i + 1} is not service:token:scope+scope`);
    }
    let sha256: Buffer;
    if (token.startsWith("sha256=")) {
      const hex = token.slice("sha256=".length);
      if (!/^[0-9a-fA-F]{64}$/.test(hex))
        throw new ConfigError(name, `entry ${i + 1}: sha256= needs 64 hex digits`);
      sha256 = Buffer.from(hex, "hex");
    } else {
      if (token.length < 16) throw new ConfigError(name, `entry ${i + 1}: token shorter than 16 characters`);
      sha256 = createHash("sha256").update(token).digest();
    }
    const key = sha256.toString("hex");
    if (seen.has(key)) throw new ConfigError(name, `entry ${i + 1}: the same token is listed twice`);
    seen.add(key);
    const scopeList = scopeText.split("+").map((s) => s.trim());
    if (scopeList.includes("*")) return Object.freeze({ service, sha256, scopes: "*" as const });
    const scopes = new Set<CommandType>();
    for (const scope of scopeList) {
      if (!isCommandType(scope)) throw new ConfigError(name, `entry ${i + 1}: unknown scope "${scope}"`);
      scopes.add(scope);
    }
    return Object.freeze({ service, sha256, scopes });
  });
}

/** A token as configured: its sha256, from `sha256=<hex>` or hashed here (at least 16 characters). */
function tokenDigest(name: string, entry: number, token: string): Buffer {
  if (token.startsWith("sha256=")) {
    const hex = token.slice("sha256=".length);
    if (!/^[0-9a-fA-F]{64}$/.test(hex))
      throw new ConfigError(name, `entry ${entry}: sha256= needs 64 hex digits`);
    return Buffer.from(hex, "hex");
  }
  if (token.length < 16) throw new ConfigError(name, `entry ${entry}: token shorter than 16 characters`);
  return createHash("sha256").update(token).digest();
}

/** `name:token,…`; a token may be given as `sha256=<hex>`. */
function parseConsoleUsers(raw: string | undefined): ConsoleUser[] {
  if (raw === undefined) return [];
  const name = "CONSOLE_USERS";
  const tokens = new Set<string>();
  const names = new Set<string>();
  return raw.split(",").map((entry, i) => {
    const parts = entry.trim().split(":");
    const [user, token] = parts;
    if (parts.length !== 2 || !user || !token)
      throw new ConfigError(name, `entry ${i + 1} is not name:token`);
    // The name is recorded on every action and shown on every page: plain characters only.
    if (!/^[A-Za-z0-9._@+-]{1,64}$/.test(user)) {
      throw new ConfigError(name, `entry ${i + 1}: a name is 1-64 letters, digits or . _ @ + -`);
    }
    if (names.has(user)) throw new ConfigError(name, `entry ${i + 1}: the name ${user} is listed twice`);
    names.add(user);
    const sha256 = tokenDigest(name, i + 1, token);
    const key = sha256.toString("hex");
    if (tokens.has(key)) throw new ConfigError(name, `entry ${i + 1}: the same token is listed twice`);
    tokens.add(key);
    return Object.freeze({ name: user, sha256 });
  });
}

/** `name=http://host:port,…` (or plain URLs, named by host and port). */
function parseMetricsTargets(raw: string | undefined): MetricsTarget[] {
  if (raw === undefined) return [];
  const name = "CONSOLE_METRICS_URLS";
  return raw.split(",").map((entry, i) => {
    const text = entry.trim();
    const at = text.indexOf("=");
    const label = at > 0 ? text.slice(0, at).trim() : undefined;
    const url = parseOptionalHttpUrl(name, at > 0 ? text.slice(at + 1).trim() : text);
    if (url === undefined || url === "") throw new ConfigError(name, `entry ${i + 1} has no URL`);
    return Object.freeze({ name: label ?? new URL(url).host, url });
  });
}
