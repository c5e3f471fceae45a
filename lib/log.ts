import { type Logger, pino } from "pino";
import type { LogLevel } from "./config.ts";

export type { Logger } from "pino";

// Secrets and signatures never reach a log line, wherever they sit in the logged object.
const redactPaths = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "stripe-signature",
  "*.stripe-signature",
  "headers['stripe-signature']",
  "req.headers['stripe-signature']",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "stripeSecretKey",
  "*.stripeSecretKey",
  "stripeWebhookSecrets",
  "*.stripeWebhookSecrets",
  "password",
  "*.password",
];

/** The one root logger of a process; subsystems take children of it. */
export function createLogger(options: {
  level: LogLevel;
  name: string;
  destination?: pino.DestinationStream;
}): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      redact: { paths: redactPaths, censor: "[redacted]" },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
