import { createHash } from "node:crypto";
import { brokerNodes } from "./amqp/broker-nodes.ts";
import { type CommandType, isCommandType } from "./domain/command-types.ts";

// The environment is read here, once, into a frozen object; nothing below the entry points
// reads process.env. A bad value stops the process with one line naming the variable.

export type ProcessName = "web" | "worker" | "relay" | "release" | "ops";
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface CommandToken {
  readonly service: string;
  /** sha256 of the token: compared in constant time, never the token itself. */
  readonly sha256: Buffer;
  /** The command types this token may send; "*" allows every type. */
  readonly scopes: ReadonlySet<CommandType> | "*";
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
  // Chosen from `npm run bench` (see README): more in flight stops paying off past this.
  WORKER_PREFETCH: "50",
  // Also from `npm run bench`: a commit per batch instead of per event.
  WORKER_BATCH_SIZE: "25",
  RETRY_DELAYS_MS: "5000,30000,120000,600000,1800000",
  LOG_LEVEL: "info",
  COMMAND_RATE_LIMIT: "50/100",
  PG_POOL_SIZE: "10",
  PUBLISH_TIMEOUT_MS: "5000",
  // Bodies are at most 1 MiB, so this also bounds the memory held by unconfirmed publishes.
  INGEST_MAX_IN_FLIGHT: "500",
} as const;

const requiredStripeKey: ReadonlySet<ProcessName> = new Set(["worker"]);
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

  return Object.freeze({
    databaseUrl: parseUrl("DATABASE_URL", read("DATABASE_URL"), ["postgres:", "postgresql:"], true),
    amqpUrl: parseBrokerUrls("AMQP_URL", read("AMQP_URL")),
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
