import { setMaxListeners } from "node:events";
import http from "node:http";
import https from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type DeliveryOptions,
  defaultDeliveryOptions,
  type ResolvedDeliveryOptions,
} from "./delivery-options.ts";
import type { EventSink } from "./emit.ts";
import { seededRandom } from "./prng.ts";
import type { EventRecord } from "./store.ts";
import { signatureHeader } from "./webhook-signature.ts";

/** What happened to one event's webhook. */
export interface DeliveryRecord {
  readonly eventId: string;
  readonly type: string;
  /**
   * pending: queued or retrying · delivered: a 2xx came back · failed: attempts ran out ·
   * skipped: delivery was off · dropped: lost on purpose (dropRate), never sent.
   */
  state: "pending" | "delivered" | "failed" | "skipped" | "dropped";
  /** POSTs made, duplicates and retries included. */
  attempts: number;
  /** 2xx answers received (more than 1 when a duplicate was delivered too). */
  deliveries: number;
  lastStatus: number | null;
  lastError: string | null;
}

/** Counts over the delivery log and the queue. */
export interface DeliveryStats {
  queued: number;
  inFlight: number;
  retrying: number;
  delivered: number;
  failed: number;
  skipped: number;
  dropped: number;
  pending: number;
  attempts: number;
}

/** The webhook sender: a queue fed by emitted events, drained by `concurrency` workers. */
export interface WebhookDelivery extends EventSink {
  setOptions(options: DeliveryOptions): void;
  options(): ResolvedDeliveryOptions;
  /** Resolves once nothing is queued, in flight or waiting to retry (or delivery is off). */
  flush(): Promise<void>;
  log(): DeliveryRecord[];
  stats(): DeliveryStats;
  /** Drops the queue and the log (for /_emulator/reset). */
  reset(): void;
  close(): Promise<void>;
}

interface Job {
  readonly event: EventRecord;
  readonly record: DeliveryRecord;
  attempt: number;
}

const maxRetryDelayMs = 30_000;

/**
 * Delivers events to `url` signed with `secret`, like Stripe: at least once, non-2xx retried with
 * exponential backoff (bounded attempts), and on request duplicated, reordered and delayed.
 */
export function createWebhookDelivery(config: {
  url: string | undefined;
  secret: string;
  options?: DeliveryOptions;
}): WebhookDelivery {
  let options: ResolvedDeliveryOptions = { ...defaultDeliveryOptions, ...config.options };
  let random = seededRandom(options.seed);
  const target = config.url === undefined ? undefined : new URL(config.url);
  const transport = target?.protocol === "https:" ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const abort = new AbortController();
  // Every sleeping retry and in-flight POST listens on this one signal; thousands may wait at once.
  setMaxListeners(0, abort.signal);
  const log = new Map<string, DeliveryRecord>();
  let jobs: Array<Job | undefined> = [];
  let head = 0;
  let inFlight = 0;
  let retrying = 0;
  let waiters: Array<() => void> = [];
  let closed = false;
  // Bumped by reset(), so work started before it does not touch the new queue.
  let generation = 0;

  const queued = () => jobs.length - head;
  const idle = () => inFlight === 0 && retrying === 0 && (queued() === 0 || !options.enabled);

  function settleWaiters(): void {
    if (!idle() && !closed) return;
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  }

  function enqueue(job: Job): void {
    jobs.push(job);
  }

  // Picks the next job, shuffled within the reorder window; O(1) per job.
  function take(): Job {
    const window = Math.min(options.reorderWindow, queued());
    if (window > 1) {
      const j = head + Math.floor(random() * window);
      [jobs[head], jobs[j]] = [jobs[j], jobs[head]];
    }
    const job = jobs[head] as Job;
    jobs[head] = undefined;
    head += 1;
    if (head > 1024 && head * 2 > jobs.length) {
      jobs = jobs.slice(head);
      head = 0;
    }
    return job;
  }

  function pump(): void {
    while (!closed && options.enabled && inFlight < options.concurrency && queued() > 0) {
      const job = take();
      inFlight += 1;
      const started = generation;
      void attempt(job).finally(() => {
        if (started !== generation) return;
        inFlight -= 1;
        pump();
        settleWaiters();
      });
    }
  }

  async function attempt(job: Job): Promise<void> {
    const [minDelay, maxDelay] = options.delayMs;
    const delay = minDelay + Math.floor(random() * (maxDelay - minDelay + 1));
    try {
      if (delay > 0) await sleep(delay, undefined, { signal: abort.signal });
    } catch {
      return; // closing
    }
    const { record } = job;
    job.attempt += 1;
    record.attempts += 1;
    const outcome = await post(job.event.json);
    if (closed) return;
    record.lastStatus = outcome.status;
    record.lastError = outcome.error;
    if (outcome.status !== null && outcome.status >= 200 && outcome.status < 300) {
      record.deliveries += 1;
      record.state = "delivered";
      return;
    }
    if (job.attempt >= options.maxAttempts) {
      if (record.state !== "delivered") record.state = "failed";
      return;
    }
    scheduleRetry(job);
  }

  function scheduleRetry(job: Job): void {
    const delay = Math.min(options.retryBaseMs * 2 ** (job.attempt - 1), maxRetryDelayMs);
    const started = generation;
    retrying += 1;
    sleep(delay, undefined, { signal: abort.signal }).then(
      () => {
        if (started !== generation) return;
        retrying -= 1;
        enqueue(job);
        pump();
        settleWaiters();
      },
      () => undefined, // closing
    );
  }

  function post(body: string): Promise<{ status: number | null; error: string | null }> {
    return new Promise((resolve) => {
      if (target === undefined) {
        resolve({ status: null, error: "no webhook URL" });
        return;
      }
      const payload = Buffer.from(body);
      const request = transport.request(
        target,
        {
          method: "POST",
          agent,
          signal: abort.signal,
          timeout: options.timeoutMs,
          headers: {
            "content-type": "application/json; charset=utf-8",
            "content-length": payload.length,
            "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "stripe-signature": signatureHeader(config.secret, body, Math.floor(Date.now() / 1000)),
          },
        },
        (response) => {
          response.resume();
          response.on("end", () => resolve({ status: response.statusCode ?? null, error: null }));
          response.on("error", (error) =>
            resolve({ status: response.statusCode ?? null, error: error.message }),
          );
        },
      );
      request.on("timeout", () => request.destroy(new Error(`timed out after ${options.timeoutMs} ms`)));
      request.on("error", (error) => resolve({ status: null, error: error.message }));
      request.end(payload);
    });
  }

  return {
    pendingWebhooks: () => (target !== undefined && options.enabled ? 1 : 0),
    publish(event) {
      if (target === undefined || closed) return;
      const record: DeliveryRecord = {
        eventId: event.id,
        type: event.type,
        state: options.enabled ? "pending" : "skipped",
        attempts: 0,
        deliveries: 0,
        lastStatus: null,
        lastError: null,
      };
      log.set(event.id, record);
      if (!options.enabled) return;
      // Drawn only when asked for, so that other seeded runs keep their sequence.
      if (options.dropRate > 0 && random() < options.dropRate) {
        record.state = "dropped";
        return;
      }
      enqueue({ event, record, attempt: 0 });
      if (options.duplicateRate > 0 && random() < options.duplicateRate)
        enqueue({ event, record, attempt: 0 });
      pump();
    },
    setOptions(next) {
      options = { ...options, ...next };
      if (next.seed !== undefined) random = seededRandom(next.seed);
      agent.maxSockets = options.concurrency;
      pump();
      settleWaiters();
    },
    options: () => ({ ...options, delayMs: [...options.delayMs] as [number, number] }),
    flush() {
      if (idle() || closed) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    log: () => [...log.values()],
    stats() {
      const stats: DeliveryStats = {
        queued: queued(),
        inFlight,
        retrying,
        delivered: 0,
        failed: 0,
        skipped: 0,
        dropped: 0,
        pending: 0,
        attempts: 0,
      };
      for (const record of log.values()) {
        stats[record.state] += 1;
        stats.attempts += record.attempts;
      }
      return stats;
    },
    reset() {
      generation += 1;
      jobs = [];
      head = 0;
      inFlight = 0;
      retrying = 0;
      log.clear();
      settleWaiters();
    },
    async close() {
      if (closed) return;
      closed = true;
      abort.abort();
      agent.destroy();
      settleWaiters();
    },
  };
}
