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

  // The broker user a process publishes as (RabbitMQ checks user_id against it), and whom the
  // worker trusts for Stripe events: by default itself, so a one-user setup keeps working.
  it("reads the broker user, STRIPE_EVENT_PUBLISHERS and RABBITMQCTL", () => {
    const plain = loadConfig({ ...worker }, "worker");
    expect(plain.amqpUser).toBe("guest");
    expect(plain.stripeEventPublishers).toEqual(["guest"]);
    expect(plain.rabbitmqctl).toEqual(["rabbitmqctl"]);
    const split = loadConfig(
      {
        ...worker,
        AMQP_URL: "amqp://billing%2Dworker:pw@mq:5672/billing",
        STRIPE_EVENT_PUBLISHERS: " billing-web , billing-ops,billing-web",
        RABBITMQCTL: "docker compose exec -T rabbitmq rabbitmqctl",
      },
      "worker",
    );
    expect(split.amqpUser).toBe("billing-worker");
    // its own user always: the worker's retries carry it
    expect(split.stripeEventPublishers).toEqual(["billing-worker", "billing-web", "billing-ops"]);
    expect(split.rabbitmqctl).toEqual(["docker", "compose", "exec", "-T", "rabbitmq", "rabbitmqctl"]);
    expect(problem({ STRIPE_EVENT_PUBLISHERS: "a,,b" })).toMatch(
      /^STRIPE_EVENT_PUBLISHERS: expected broker user names/,
    );
    expect(problem({ STRIPE_EVENT_PUBLISHERS: "a b" })).toMatch(/^STRIPE_EVENT_PUBLISHERS:/);
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

  // The reconciler: the Contract's interval, a first look-back inside Stripe's 30 days, the overlap,
  // and one request budget per process below Stripe's limits.
  it("reads the reconciler's variables and STRIPE_RATE_LIMIT", () => {
    const config = loadConfig({ ...worker }, "reconciler");
    expect(config).toMatchObject({
      reconcileIntervalS: 300,
      reconcileLookbackS: 3 * 86_400,
      reconcileOverlapS: 300,
      stripeRateLimit: 20,
    });
    expect(() => loadConfig({}, "reconciler")).toThrow(/^STRIPE_SECRET_KEY: required by reconciler/);
    expect(
      loadConfig(
        {
          ...worker,
          RECONCILE_INTERVAL_S: "2",
          RECONCILE_LOOKBACK: "12h",
          RECONCILE_OVERLAP_S: "0",
          STRIPE_RATE_LIMIT: "5",
        },
        "reconciler",
      ),
    ).toMatchObject({
      reconcileIntervalS: 2,
      reconcileLookbackS: 43_200,
      reconcileOverlapS: 0,
      stripeRateLimit: 5,
    });
    expect(loadConfig({ ...worker, RECONCILE_LOOKBACK: "30d" }, "reconciler").reconcileLookbackS).toBe(
      2_592_000,
    );
    expect(loadConfig({ ...worker, RECONCILE_LOOKBACK: "90m" }, "reconciler").reconcileLookbackS).toBe(5400);
    expect(problem({ RECONCILE_INTERVAL_S: "0" }, "reconciler")).toMatch(
      /^RECONCILE_INTERVAL_S: must be between/,
    );
    expect(problem({ RECONCILE_LOOKBACK: "31d" }, "reconciler")).toMatch(
      /^RECONCILE_LOOKBACK: must be between 1s and 30d/,
    );
    expect(problem({ RECONCILE_LOOKBACK: "0s" }, "reconciler")).toMatch(
      /^RECONCILE_LOOKBACK: must be between/,
    );
    expect(problem({ RECONCILE_LOOKBACK: "3 days" }, "reconciler")).toMatch(
      /^RECONCILE_LOOKBACK: not a duration/,
    );
    expect(problem({ RECONCILE_OVERLAP_S: "-1" }, "reconciler")).toMatch(/^RECONCILE_OVERLAP_S:/);
    expect(problem({ STRIPE_RATE_LIMIT: "0" }, "worker")).toMatch(/^STRIPE_RATE_LIMIT: must be between/);
    expect(problem({ STRIPE_RATE_LIMIT: "fast" }, "worker")).toMatch(/^STRIPE_RATE_LIMIT: not a whole/);
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

  // The console's users: Basic name and token (or a sha256 of it); every value that is wrong names
  // the variable, and the token never appears in the message or the logged config.
  it("reads CONSOLE_PORT, CONSOLE_USERS and CONSOLE_METRICS_URLS; the console needs users", () => {
    expect(problem({}, "console")).toMatch(/^CONSOLE_USERS: required by console/);
    const digest = createHash("sha256").update("bob-token-0123456789").digest("hex");
    const config = loadConfig(
      {
        CONSOLE_USERS: ` alice:alice-token-0123456789 , bob:sha256=${digest}`,
        CONSOLE_METRICS_URLS: "web=http://web:8080/, http://10.0.0.5:9464",
      },
      "console",
    );
    expect(config.consolePort).toBe(8081);
    expect(config.consoleUsers.map((u) => u.name)).toEqual(["alice", "bob"]);
    expect(config.consoleUsers[0]?.sha256).toEqual(
      createHash("sha256").update("alice-token-0123456789").digest(),
    );
    expect(config.consoleUsers[1]?.sha256.toString("hex")).toBe(digest);
    expect(config.consoleMetricsUrls).toEqual([
      { name: "web", url: "http://web:8080" },
      { name: "10.0.0.5:9464", url: "http://10.0.0.5:9464" },
    ]);
    expect(
      loadConfig({ CONSOLE_PORT: "0", CONSOLE_USERS: "a:abcdefghijklmnop" }, "console").consolePort,
    ).toBe(0);
    expect(loadConfig({}, "ops").consoleUsers).toEqual([]);
    const logged = JSON.stringify(redactConfig(config));
    expect(logged).toContain("alice");
    expect(logged).not.toContain("alice-token");
    expect(logged).not.toContain(digest);
  });

  it.each([
    [{ CONSOLE_USERS: "alice" }, /^CONSOLE_USERS: entry 1 is not name:token/],
    [{ CONSOLE_USERS: "alice:short" }, /^CONSOLE_USERS: entry 1: token shorter than 16/],
    [{ CONSOLE_USERS: "al ice:abcdefghijklmnop" }, /^CONSOLE_USERS: entry 1: a name is/],
    [{ CONSOLE_USERS: "<b>:abcdefghijklmnop" }, /^CONSOLE_USERS: entry 1: a name is/],
    [{ CONSOLE_USERS: "a:abcdefghijklmnop,a:qrstuvwxyzabcdefgh" }, /entry 2: the name a is listed twice/],
    [{ CONSOLE_USERS: "a:abcdefghijklmnop,b:abcdefghijklmnop" }, /entry 2: the same token is listed twice/],
    [{ CONSOLE_USERS: "a:sha256=abc" }, /entry 1: sha256= needs 64 hex digits/],
    [{ CONSOLE_USERS: "a:abcdefghijklmnop", CONSOLE_PORT: "http" }, /^CONSOLE_PORT: not a whole number/],
    [
      { CONSOLE_USERS: "a:abcdefghijklmnop", CONSOLE_METRICS_URLS: "web=ftp://x" },
      /^CONSOLE_METRICS_URLS: unsupported/,
    ],
  ])("%j → %s", (env, expected) => {
    const message = problem(env as Record<string, string>, "console");
    expect(message).toMatch(expected);
    expect(message).not.toContain("abcdefghijklmnop");
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
