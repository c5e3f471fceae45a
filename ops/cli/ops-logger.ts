import { pino } from "pino";
import type { Config } from "../../lib/config.ts";
import { createLogger, type Logger } from "../../lib/log.ts";

/** The CLI's logger: on stderr, so that stdout holds only the verb's output (and --json stays parseable). */
export function opsLogger(config: Config): Logger {
  return createLogger({
    level: config.logLevel,
    name: "billing-ops",
    destination: pino.destination({ fd: 2, sync: true }),
  });
}
