import { parseArgs } from "node:util";
import { type DeliveryOptions, parseDeliveryOptions } from "./delivery-options.ts";
import { type Faults, parseFaults } from "./faults.ts";
import type { StripeEmulatorOptions } from "./server.ts";

export const defaultEmulatorPort = 12111;

export const usage = `usage: npm run stripe-emulator -- [options]

  --port N              listen port (STRIPE_EMULATOR_PORT, default ${defaultEmulatorPort}; 0 = any free port)
  --host H              listen address (STRIPE_EMULATOR_HOST, default 127.0.0.1)
  --webhook-url URL     where signed webhooks go (STRIPE_EMULATOR_WEBHOOK_URL; none = record only)
  --webhook-secret S    whsec_… signing secret (STRIPE_WEBHOOK_SECRET, first of the list; default random)
  --api-key K           the only key accepted (STRIPE_EMULATOR_API_KEY; default any sk_…)
  --no-delivery         record events but send no webhooks (switch on later: POST /_emulator/delivery)
  --drop P              lose an event's webhook (never sent) with probability P (STRIPE_EMULATOR_DROP)
  --duplicates P        deliver an event twice with probability P (STRIPE_EMULATOR_DUPLICATES)
  --reorder N           shuffle deliveries within windows of N events (STRIPE_EMULATOR_REORDER)
  --delay MIN-MAX       wait MIN..MAX ms before each delivery (STRIPE_EMULATOR_DELAY_MS)
  --concurrency N       deliveries in flight (STRIPE_EMULATOR_CONCURRENCY, default 4)
  --max-attempts N      delivery attempts per event (default 6)
  --retry-base-ms N     first delivery retry after N ms, doubling (default 250)
  --seed N              seed for duplicates, reordering, delays and --fail-rate (STRIPE_EMULATOR_SEED)
  --fail-rate P         answer a random fraction P of API requests with --fail-status (default 500)
  --fail-status S       500, 429, 503, malformed (200, not JSON) or hang (no answer)
  --fail-paths REGEX    only inject failures on matching paths
  --help`;

/** A command-line or environment problem; main prints the message and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The emulator's options from flags (first) and the environment, checked once. */
export function readEmulatorConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Readonly<StripeEmulatorOptions> | "help" {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        "webhook-url": { type: "string" },
        "webhook-secret": { type: "string" },
        "api-key": { type: "string" },
        "no-delivery": { type: "boolean" },
        drop: { type: "string" },
        duplicates: { type: "string" },
        reorder: { type: "string" },
        delay: { type: "string" },
        concurrency: { type: "string" },
        "max-attempts": { type: "string" },
        "retry-base-ms": { type: "string" },
        seed: { type: "string" },
        "fail-rate": { type: "string" },
        "fail-status": { type: "string" },
        "fail-paths": { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    // parseArgs explains over several lines; the process prints one.
    throw new UsageError(
      (error instanceof Error ? error.message : String(error)).replaceAll(/\s*\n\s*/g, " "),
    );
  }
  if (values.help === true) return "help";
  const pick = (flag: string, variable?: string): { name: string; value: string } | undefined => {
    const fromFlag = values[flag];
    if (typeof fromFlag === "string") return { name: `--${flag}`, value: fromFlag };
    const fromEnv = variable === undefined ? undefined : env[variable];
    return fromEnv === undefined || fromEnv === "" ? undefined : { name: variable as string, value: fromEnv };
  };
  const number = (flag: string, variable?: string): { name: string; value: number } | undefined => {
    const raw = pick(flag, variable);
    if (raw === undefined) return undefined;
    const value = Number(raw.value);
    if (raw.value.trim() === "" || !Number.isFinite(value))
      throw new UsageError(`${raw.name}: not a number: ${raw.value}`);
    return { name: raw.name, value };
  };

  const port = number("port", "STRIPE_EMULATOR_PORT")?.value ?? defaultEmulatorPort;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`port: ${port} is not a port`);
  const options: StripeEmulatorOptions = {
    port,
    host: pick("host", "STRIPE_EMULATOR_HOST")?.value ?? "127.0.0.1",
  };

  const webhookUrl = pick("webhook-url", "STRIPE_EMULATOR_WEBHOOK_URL");
  if (webhookUrl !== undefined) {
    if (!URL.canParse(webhookUrl.value))
      throw new UsageError(`${webhookUrl.name}: not a URL: ${webhookUrl.value}`);
    options.webhookUrl = webhookUrl.value;
  }
  const secret = pick("webhook-secret", "STRIPE_WEBHOOK_SECRET")?.value.split(",")[0]?.trim();
  if (secret !== undefined) {
    if (!secret.startsWith("whsec_")) throw new UsageError("STRIPE_WEBHOOK_SECRET: must start with whsec_");
    options.webhookSecret = secret;
  }
  const apiKey = pick("api-key", "STRIPE_EMULATOR_API_KEY")?.value;
  if (apiKey !== undefined) options.apiKey = apiKey;

  const delivery: Record<string, unknown> = {};
  if (values["no-delivery"] === true) delivery.enabled = false;
  const set = (key: string, entry: { name: string; value: number } | undefined) => {
    if (entry !== undefined) delivery[key] = entry.value;
  };
  set("dropRate", number("drop", "STRIPE_EMULATOR_DROP"));
  set("duplicateRate", number("duplicates", "STRIPE_EMULATOR_DUPLICATES"));
  set("reorderWindow", number("reorder", "STRIPE_EMULATOR_REORDER"));
  set("concurrency", number("concurrency", "STRIPE_EMULATOR_CONCURRENCY"));
  set("maxAttempts", number("max-attempts"));
  set("retryBaseMs", number("retry-base-ms"));
  const seed = number("seed", "STRIPE_EMULATOR_SEED");
  set("seed", seed);
  const delay = pick("delay", "STRIPE_EMULATOR_DELAY_MS");
  if (delay !== undefined) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(delay.value);
    if (match === null) throw new UsageError(`${delay.name}: expected MIN-MAX in ms, e.g. 0-50`);
    delivery.delayMs = [Number(match[1]), Number(match[2] ?? match[1])];
  }
  options.delivery = checked("delivery", () => parseDeliveryOptions(delivery)) satisfies DeliveryOptions;

  const faults: Record<string, unknown> = {};
  const failRate = number("fail-rate");
  if (failRate !== undefined) faults.failRate = failRate.value;
  const failStatus = pick("fail-status");
  if (failStatus !== undefined) {
    const status = Number(failStatus.value);
    faults.failRateStatus = Number.isFinite(status) ? status : failStatus.value;
  }
  const failPaths = pick("fail-paths");
  if (failPaths !== undefined) faults.paths = failPaths.value;
  if (seed !== undefined) faults.seed = seed.value;
  options.faults = checked("faults", () => parseFaults(faults)) satisfies Faults;
  return Object.freeze(options);
}

function checked<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
