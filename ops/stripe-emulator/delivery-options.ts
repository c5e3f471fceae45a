/** Switches for webhook delivery (all optional when changed at runtime). */
export interface DeliveryOptions {
  /** Off: new events are still recorded (GET /v1/events) but never sent; queued ones wait. */
  enabled?: boolean;
  /** Probability (0..1) that an event's webhook is lost (never sent): a lossy endpoint or an outage. */
  dropRate?: number;
  /** Probability (0..1) that an event is delivered twice. */
  duplicateRate?: number;
  /** Deliver in a random order within windows of this many queued events (0 or 1: in order). */
  reorderWindow?: number;
  /** Wait a random [min, max] ms before each delivery attempt. */
  delayMs?: [number, number];
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** Seed of the PRNG behind duplicates, reordering and delays. */
  seed?: number;
  /** Attempts per delivery before giving up (Stripe retries for days; tests want seconds). */
  maxAttempts?: number;
  /** First retry after this many ms, doubling each time (capped at 30 s). */
  retryBaseMs?: number;
  /** Per-attempt timeout. */
  timeoutMs?: number;
}

/** Delivery switches with every value filled in. */
export type ResolvedDeliveryOptions = Required<DeliveryOptions>;

export const defaultDeliveryOptions: ResolvedDeliveryOptions = Object.freeze({
  enabled: true,
  dropRate: 0,
  duplicateRate: 0,
  reorderWindow: 0,
  delayMs: [0, 0] as [number, number],
  concurrency: 4,
  seed: 1,
  maxAttempts: 6,
  retryBaseMs: 250,
  timeoutMs: 10_000,
});

/** Checks switches that arrive as JSON (the control endpoint, the CLI); throws a readable Error. */
export function parseDeliveryOptions(input: unknown): DeliveryOptions {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new Error("delivery options must be an object");
  }
  const raw = input as Record<string, unknown>;
  const options: DeliveryOptions = {};
  for (const [key, value] of Object.entries(raw)) {
    switch (key) {
      case "enabled":
        if (typeof value !== "boolean") throw new Error("enabled must be a boolean");
        options.enabled = value;
        break;
      case "dropRate":
        options.dropRate = fraction(key, value);
        break;
      case "duplicateRate":
        options.duplicateRate = fraction(key, value);
        break;
      case "reorderWindow":
        options.reorderWindow = integer(key, value, 0, 100_000);
        break;
      case "delayMs": {
        if (!Array.isArray(value) || value.length !== 2) throw new Error("delayMs must be [min, max]");
        const min = integer("delayMs[0]", value[0], 0, 600_000);
        const max = integer("delayMs[1]", value[1], min, 600_000);
        options.delayMs = [min, max];
        break;
      }
      case "concurrency":
        options.concurrency = integer(key, value, 1, 1024);
        break;
      case "seed":
        options.seed = integer(key, value, 0, 2 ** 32 - 1);
        break;
      case "maxAttempts":
        options.maxAttempts = integer(key, value, 1, 100);
        break;
      case "retryBaseMs":
        options.retryBaseMs = integer(key, value, 0, 3_600_000);
        break;
      case "timeoutMs":
        options.timeoutMs = integer(key, value, 1, 600_000);
        break;
      default:
        throw new Error(`unknown delivery switch: ${key}`);
    }
  }
  return options;
}

function fraction(name: string, value: unknown): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1))
    throw new Error(`${name} must be a number from 0 to 1`);
  return value;
}

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}
