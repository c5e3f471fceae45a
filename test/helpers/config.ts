import { type Config, loadConfig, type ProcessName } from "../../lib/config.ts";
import { createLogger, type Logger } from "../../lib/log.ts";

/** Obviously fake secrets for tests. */
export const testSecrets = {
  webhookSecret: "whsec_test_0123456789abcdef",
  stripeKey: "sk_test_fake_0123456789",
} as const;

/** A Config built exactly as a process builds it, from an environment of test values. */
export function testConfig(
  process: ProcessName,
  env: { databaseUrl?: string; amqpUrl?: string } & Record<string, string | undefined>,
): Config {
  const { databaseUrl, amqpUrl, ...rest } = env;
  return loadConfig(
    {
      DATABASE_URL: databaseUrl,
      AMQP_URL: amqpUrl,
      PORT: "0",
      METRICS_PORT: "0",
      STRIPE_WEBHOOK_SECRET: testSecrets.webhookSecret,
      STRIPE_SECRET_KEY: testSecrets.stripeKey,
      LOG_LEVEL: process === "ops" ? "silent" : (globalThis.process.env.TEST_LOG_LEVEL ?? "silent"),
      ...rest,
    },
    process,
  );
}

/** A logger for tests: silent unless TEST_LOG_LEVEL is set. */
export function testLogger(name = "test"): Logger {
  const level = (globalThis.process.env.TEST_LOG_LEVEL ?? "silent") as Config["logLevel"];
  return createLogger({ level, name });
}
