import { setTimeout as delay } from "node:timers/promises";
import type { MetricsTarget } from "../config.ts";
import { errorMessage } from "../domain/errors.ts";
import { parsePrometheusText, type Sample } from "./prometheus-text.ts";

// The processes the console was told about (CONSOLE_METRICS_URLS): every few seconds their
// /readyz and /metrics are read, as Prometheus would, and rates are taken over the last minute of
// readings. A process that does not answer is shown as such; it never fails the page.

/** What the console shows of one process. */
export interface ProcessReading {
  readonly name: string;
  readonly url: string;
  /** True: /readyz answered 200; false: it answered something else; null: no answer. */
  readonly ready: boolean | null;
  /** Why the last reading failed, when it did. */
  readonly error: string | null;
  /** Messages acknowledged per second (applied, or absorbed as duplicates); null until two readings. */
  readonly applyRate: number | null;
  /** Webhooks and commands accepted (2xx) per second. */
  readonly ingestRate: number | null;
  /** Messages dead-lettered per second. */
  readonly deadLetterRate: number | null;
  /** When it was last read, ISO 8601. */
  readonly readAt: string | null;
}

export interface MetricsScraper {
  readings(): ProcessReading[];
  stop(): Promise<void>;
}

interface Counters {
  readonly at: number;
  readonly acked: number;
  readonly accepted: number;
  readonly deadLettered: number;
}

/** The counters the rates are taken from, summed over every label. */
export function countersOf(samples: readonly Sample[], at: number): Counters {
  let acked = 0;
  let accepted = 0;
  let deadLettered = 0;
  for (const s of samples) {
    if (s.name === "billing_messages_acked_total") acked += s.value;
    else if (s.name === "billing_messages_dead_lettered_total") deadLettered += s.value;
    else if (s.name === "billing_http_requests_total" && (s.labels.status ?? "").startsWith("2"))
      accepted += s.value;
  }
  return { at, acked, accepted, deadLettered };
}

/** Per-second rate of a counter over consecutive readings; a restart (a counter that fell) restarts from zero. */
export function rateOf(readings: readonly Counters[], pick: (c: Counters) => number): number | null {
  const first = readings[0];
  const last = readings.at(-1);
  if (first === undefined || last === undefined || last.at <= first.at) return null;
  let increase = 0;
  for (let i = 1; i < readings.length; i += 1) {
    const before = pick(readings[i - 1] as Counters);
    const now = pick(readings[i] as Counters);
    increase += now >= before ? now - before : now;
  }
  return increase / ((last.at - first.at) / 1000);
}

const windowMs = 60_000;

/** Reads every target now and then every `intervalMs` until stopped. */
export function startMetricsScraper(
  targets: readonly MetricsTarget[],
  options: { intervalMs: number; timeoutMs: number },
): MetricsScraper {
  const abort = new AbortController();
  const state = new Map<
    string,
    { history: Counters[]; ready: boolean | null; error: string | null; readAt?: number }
  >(targets.map((t) => [t.name, { history: [], ready: null, error: null }]));

  const readOne = async (target: MetricsTarget): Promise<void> => {
    const entry = state.get(target.name);
    if (entry === undefined) return;
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(options.timeoutMs)]);
    try {
      const [ready, metrics] = await Promise.all([
        fetch(`${target.url}/readyz`, { signal }).then(async (r) => {
          await r.body?.cancel();
          return r.status === 200;
        }),
        fetch(`${target.url}/metrics`, { signal }).then((r) =>
          r.ok ? r.text() : Promise.reject(new Error(`/metrics answered ${r.status}`)),
        ),
      ]);
      const now = Date.now();
      entry.history.push(countersOf(parsePrometheusText(metrics), now));
      while ((entry.history[0]?.at ?? now) < now - windowMs) entry.history.shift();
      entry.ready = ready;
      entry.error = null;
      entry.readAt = now;
    } catch (error) {
      // No answer: no readiness, and the rates start afresh once it answers again.
      entry.ready = null;
      entry.history = [];
      entry.error = abort.signal.aborted ? "stopped" : describe(error);
    }
  };

  const loop = async () => {
    while (!abort.signal.aborted) {
      await Promise.all(targets.map(readOne));
      await delay(options.intervalMs, undefined, { signal: abort.signal }).catch(() => undefined);
    }
  };
  const done = targets.length === 0 ? Promise.resolve() : loop();

  return {
    readings: () =>
      targets.map((t) => {
        const entry = state.get(t.name);
        const history = entry?.history ?? [];
        return {
          name: t.name,
          url: t.url,
          ready: entry?.ready ?? null,
          error: entry?.error ?? null,
          applyRate: rateOf(history, (c) => c.acked),
          ingestRate: rateOf(history, (c) => c.accepted),
          deadLetterRate: rateOf(history, (c) => c.deadLettered),
          readAt: entry?.readAt === undefined ? null : new Date(entry.readAt).toISOString(),
        };
      }),
    async stop() {
      abort.abort();
      await done;
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error && error.name === "TimeoutError") return "no answer in time";
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${errorMessage(error)}${cause}`;
}
