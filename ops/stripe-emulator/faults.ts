import { seededRandom } from "./prng.ts";

/**
 * What an injected failure answers: an HTTP error status (429 with Retry-After), `malformed` (200
 * with a body that is not JSON) or `hang` (no answer at all until the client gives up).
 */
export type FaultStatus = 500 | 429 | 503 | "malformed" | "hang";

/** One queued failure: the next `count` matching requests answer `status`. */
export interface FaultRule {
  status: FaultStatus;
  count: number;
  retryAfterS?: number;
}

/** Injected API failures, applied before any effect so a retry with the same key succeeds once. */
export interface Faults {
  /** Consumed in order, each for `count` requests. */
  failNext?: FaultRule[];
  /** Probability (0..1) that a matching request fails with `failRateStatus` (seeded PRNG). */
  failRate?: number;
  /** Status of the random failures; default 500. */
  failRateStatus?: FaultStatus;
  /** Regex on the request path (e.g. "^/v1/payment_intents"); default: every /v1 request. */
  paths?: string;
  /** Seed of the failRate PRNG; default 1. */
  seed?: number;
}

/** An injected failure to answer with. */
export interface InjectedFault {
  readonly status: FaultStatus;
  readonly retryAfterS: number | undefined;
}

/** Decides, request by request, whether to inject a failure. */
export interface FaultInjector {
  next(path: string): InjectedFault | null;
  /** The switches as they stand (failNext shows what is left). */
  current(): Faults;
}

/** A fault injector for validated switches. */
export function createFaultInjector(faults: Faults): FaultInjector {
  const queue = (faults.failNext ?? []).map((rule) => ({ ...rule }));
  const paths = faults.paths === undefined ? null : new RegExp(faults.paths);
  const random = seededRandom(faults.seed ?? 1);
  const rate = faults.failRate ?? 0;
  return {
    next(path) {
      if (paths !== null && !paths.test(path)) return null;
      const rule = queue[0];
      if (rule !== undefined) {
        rule.count -= 1;
        if (rule.count <= 0) queue.shift();
        return { status: rule.status, retryAfterS: rule.retryAfterS };
      }
      if (rate > 0 && random() < rate)
        return { status: faults.failRateStatus ?? 500, retryAfterS: undefined };
      return null;
    },
    current() {
      return { ...faults, failNext: queue.map((rule) => ({ ...rule })) };
    },
  };
}

const faultStatuses: readonly unknown[] = [500, 429, 503, "malformed", "hang"];
const statusList = '500, 429, 503, "malformed" or "hang"';

/** Checks switches that arrive as JSON (the control endpoint, the CLI); throws a readable Error. */
export function parseFaults(input: unknown): Faults {
  if (input === null || typeof input !== "object" || Array.isArray(input))
    throw new Error("faults must be an object");
  const raw = input as Record<string, unknown>;
  const known = new Set(["failNext", "failRate", "failRateStatus", "paths", "seed"]);
  for (const key of Object.keys(raw)) if (!known.has(key)) throw new Error(`unknown fault switch: ${key}`);
  const faults: Faults = {};
  if (raw.failNext !== undefined) {
    if (!Array.isArray(raw.failNext)) throw new Error("failNext must be an array");
    faults.failNext = raw.failNext.map((rule, index) => parseRule(rule, index));
  }
  if (raw.failRate !== undefined) {
    if (typeof raw.failRate !== "number" || !(raw.failRate >= 0 && raw.failRate <= 1)) {
      throw new Error("failRate must be a number from 0 to 1");
    }
    faults.failRate = raw.failRate;
  }
  if (raw.failRateStatus !== undefined) {
    if (!faultStatuses.includes(raw.failRateStatus)) throw new Error(`failRateStatus must be ${statusList}`);
    faults.failRateStatus = raw.failRateStatus as FaultStatus;
  }
  if (raw.paths !== undefined) {
    if (typeof raw.paths !== "string") throw new Error("paths must be a regex string");
    new RegExp(raw.paths);
    faults.paths = raw.paths;
  }
  if (raw.seed !== undefined) {
    if (!Number.isSafeInteger(raw.seed)) throw new Error("seed must be an integer");
    faults.seed = raw.seed as number;
  }
  return faults;
}

function parseRule(input: unknown, index: number): FaultRule {
  if (input === null || typeof input !== "object") throw new Error(`failNext[${index}] must be an object`);
  const rule = input as Record<string, unknown>;
  if (!faultStatuses.includes(rule.status))
    throw new Error(`failNext[${index}].status must be ${statusList}`);
  if (!Number.isSafeInteger(rule.count) || (rule.count as number) < 1) {
    throw new Error(`failNext[${index}].count must be a positive integer`);
  }
  if (
    rule.retryAfterS !== undefined &&
    (!Number.isSafeInteger(rule.retryAfterS) || (rule.retryAfterS as number) < 0)
  ) {
    throw new Error(`failNext[${index}].retryAfterS must be a non-negative integer`);
  }
  const parsed: FaultRule = { status: rule.status as FaultStatus, count: rule.count as number };
  if (rule.retryAfterS !== undefined) parsed.retryAfterS = rule.retryAfterS as number;
  return parsed;
}
