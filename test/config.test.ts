import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, defaults, loadConfig, redactConfig, redactUrl } from "../lib/config.ts";

const web = { STRIPE_WEBHOOK_SECRET: "whsec_a" };
const worker = { STRIPE_SECRET_KEY: "sk_test_x" };

function problem(env: Record<string, string>, process: Parameters<typeof loadConfig>[1] = "worker"): string {
  try {
    loadConfig({ ...worker, ...env }, process);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  // The Contract's defaults apply when a variable is unset or empty.
  it("applies the Contract's defaults and freezes the result", () => {
    const config = loadConfig({ ...worker, PORT: "" }, "worker");
    expect(config.databaseUrl).toBe(defaults.DATABASE_URL);
    expect(config.amqpUrl).toBe(defaults.AMQP_URL);
    expect(config.port).toBe(8080);
    expect(config.metricsPort).toBe(9464);
    expect(config.stripeWebhookToleranceS).toBe(300);
    expect(config.retryDelaysMs).toEqual([5000, 30000, 120000, 600000, 1800000]);
    expect(config.logLevel).toBe("info");
    expect(config.commandTokens).toEqual([]);
    expect(config.stripeApiUrl).toBeUndefined();
    expect(config.ingesterUrl).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reads every variable", () => {
    const config = loadConfig(
      {
        DATABASE_URL: "postgresql://u:p@db:5432/b",
        AMQP_URL: "amqps://u:p@mq/vh",
        PORT: "1",
        METRICS_PORT: "0",
        STRIPE_WEBHOOK_SECRET: "whsec_a, whsec_b",
        STRIPE_WEBHOOK_TOLERANCE_S: "60",
        STRIPE_SECRET_KEY: "sk_live_x",
        STRIPE_API_URL: "http://127.0.0.1:12111/",
        INGESTER_URL: "http://web.internal:8080/",
        COMMAND_TOKENS: `orders:abcdefghijklmnop:deposit.create+balance.charge,ops:sha256=${"a".repeat(64)}:*`,
        COMMAND_RATE_LIMIT: "5/10",
        WORKER_PREFETCH: "7",
        RETRY_DELAYS_MS: "10,20",
        LOG_LEVEL: "DEBUG",
        PG_POOL_SIZE: "3",
        PUBLISH_TIMEOUT_MS: "1000",
      },
      "web",
    );
    expect(config.stripeWebhookSecrets).toEqual(["whsec_a", "whsec_b"]);
    expect(config.stripeApiUrl).toBe("http://127.0.0.1:12111");
    expect(config.ingesterUrl).toBe("http://web.internal:8080");
    expect(config.commandTokens[0]?.service).toBe("orders");
    expect(config.commandTokens[0]?.sha256).toEqual(createHash("sha256").update("abcdefghijklmnop").digest());
    expect([...((config.commandTokens[0]?.scopes ?? []) as Iterable<string>)]).toEqual([
      "deposit.create",
      "balance.charge",
    ]);
    expect(config.commandTokens[1]?.scopes).toBe("*");
    expect(config.commandRateLimit).toEqual({ perSecond: 5, burst: 10 });
    expect(config.workerPrefetch).toBe(7);
    expect(config.retryDelaysMs).toEqual([10, 20]);
    expect(config.logLevel).toBe("debug");
    expect(config.metricsPort).toBe(0);
  });

  // Every bad value names its variable, and never echoes a secret.
  it.each([
    [{ DATABASE_URL: "not-a-url" }, /^DATABASE_URL: not a URL/],
    [{ DATABASE_URL: "mysql://h/db" }, /^DATABASE_URL: unsupported scheme/],
    [{ DATABASE_URL: "postgres://h" }, /^DATABASE_URL: names no database/],
    [{ AMQP_URL: "nope" }, /^AMQP_URL: not a URL/],
    [{ AMQP_URL: "http://h" }, /^AMQP_URL: unsupported scheme/],
    [{ PORT: "abc" }, /^PORT: not a whole number/],
    [{ PORT: "70000" }, /^PORT: must be between/],
    [{ METRICS_PORT: "-1" }, /^METRICS_PORT:/],
    [{ STRIPE_WEBHOOK_TOLERANCE_S: "0" }, /^STRIPE_WEBHOOK_TOLERANCE_S:/],
    [{ STRIPE_SECRET_KEY: "pk_live_x" }, /^STRIPE_SECRET_KEY: must start with sk_/],
    [{ STRIPE_API_URL: "ftp://x" }, /^STRIPE_API_URL: unsupported scheme/],
    [{ STRIPE_API_URL: "::" }, /^STRIPE_API_URL: not a URL/],
    [{ INGESTER_URL: "amqp://web" }, /^INGESTER_URL: unsupported scheme/],
    [{ INGESTER_URL: "web:8080" }, /^INGESTER_URL: unsupported scheme/],
    [{ WORKER_PREFETCH: "0" }, /^WORKER_PREFETCH:/],
    [{ WORKER_BATCH_SIZE: "0" }, /^WORKER_BATCH_SIZE:/],
    [{ RETRY_DELAYS_MS: "5,x" }, /^RETRY_DELAYS_MS: not a whole number/],
    [{ RETRY_DELAYS_MS: "5,5" }, /^RETRY_DELAYS_MS: has a step twice/],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL: must be one of/],
    [{ COMMAND_RATE_LIMIT: "fast" }, /^COMMAND_RATE_LIMIT:/],
    [{ COMMAND_RATE_LIMIT: "0/1" }, /^COMMAND_RATE_LIMIT:/],
    [{ COMMAND_TOKENS: "svc:tok" }, /^COMMAND_TOKENS: entry 1 is not/],
    [{ COMMAND_TOKENS: "svc:short:*" }, /^COMMAND_TOKENS: entry 1: token shorter/],
    [{ COMMAND_TOKENS: "svc:sha256=abc:*" }, /^COMMAND_TOKENS: entry 1: sha256= needs/],
    [{ COMMAND_TOKENS: "svc:abcdefghijklmnop:refund.all" }, /^COMMAND_TOKENS: entry 1: unknown scope/],
    [
      { COMMAND_TOKENS: "a:abcdefghijklmnop:*,b:abcdefghijklmnop:*" },
      /^COMMAND_TOKENS: entry 2: the same token/,
    ],
  ])("%j → %s", (env, expected) => {
    const message = problem(env as Record<string, string>);
    expect(message).toMatch(expected);
    expect(message).not.toContain("abcdefghijklmnop");
  });

  it("requires what each process needs", () => {
    expect(problem({}, "web")).toMatch(/^STRIPE_WEBHOOK_SECRET: required by web/);
    expect(problem({ STRIPE_WEBHOOK_SECRET: "whsec_a,nope" }, "web")).toMatch(
      /entry 2 does not start with whsec_/,
    );
    expect(() => loadConfig({}, "worker")).toThrow(/^STRIPE_SECRET_KEY: required by worker/);
    expect(loadConfig({}, "relay").stripeSecretKey).toBeUndefined();
    expect(loadConfig({ ...web }, "web").stripeWebhookSecrets).toEqual(["whsec_a"]);
  });

  // The ingester's cap on unconfirmed publishes bounds its memory: a default, and a bad value names it.
  it("reads INGEST_MAX_IN_FLIGHT", () => {
    expect(loadConfig({ ...web }, "web").ingestMaxInFlight).toBe(500);
    expect(loadConfig({ ...web, INGEST_MAX_IN_FLIGHT: "20" }, "web").ingestMaxInFlight).toBe(20);
    expect(problem({ ...web, INGEST_MAX_IN_FLIGHT: "0" }, "web")).toMatch(
      /^INGEST_MAX_IN_FLIGHT: must be between/,
    );
    expect(problem({ ...web, INGEST_MAX_IN_FLIGHT: "many" }, "web")).toMatch(
      /^INGEST_MAX_IN_FLIGHT: not a whole/,
    );
  });

  // Logged configuration never shows a secret or a password.
  it("redacts secrets for logging", () => {
    const config = loadConfig(
      {
        ...web,
        ...worker,
        DATABASE_URL: "postgres://u:hunter2@h/db",
        COMMAND_TOKENS: "svc:abcdefghijklmnop:*",
      },
      "web",
    );
    const text = JSON.stringify(redactConfig(config));
    for (const secret of ["hunter2", "whsec_a", "sk_test_x", "abcdefghijklmnop"])
      expect(text).not.toContain(secret);
    expect(text).toContain("svc");
    expect(redactUrl("::")).toBe("[unparseable url]");
  });

  // A cluster: AMQP_URL lists its nodes; each is checked, and none leaks its password in the log.
  it("takes a comma-separated list of broker nodes", () => {
    const nodes = "amqp://u:s3cret@n1:5672/vh, amqp://u:s3cret@n2:5672/vh ,amqps://u:s3cret@n3/vh";
    const config = loadConfig({ ...worker, AMQP_URL: nodes }, "worker");
    expect(config.amqpUrl).toBe(
      "amqp://u:s3cret@n1:5672/vh,amqp://u:s3cret@n2:5672/vh,amqps://u:s3cret@n3/vh",
    );
    const logged = redactConfig(config).amqpUrl;
    expect(logged).toBe("amqp://u:***@n1:5672/vh,amqp://u:***@n2:5672/vh,amqps://u:***@n3/vh");
    expect(problem({ ...worker, AMQP_URL: "amqp://n1,http://n2" }, "worker")).toBe(
      'AMQP_URL: node 2: unsupported scheme "http:" (expected amqp: or amqps:)',
    );
    expect(problem({ ...worker, AMQP_URL: "amqp://n1,nope" }, "worker")).toMatch(
      /^AMQP_URL: node 2: not a URL/,
    );
    expect(problem({ ...worker, AMQP_URL: " , ," }, "worker")).toBe("AMQP_URL: names no node");
  });
});
