import { setTimeout as sleep } from "node:timers/promises";
import { type FleetProcess, logTail } from "./fleet.ts";

/** Polls `check` until it returns a value other than undefined; throws `describe()` at the deadline. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  options: {
    timeoutMs: number;
    intervalMs?: number;
    describe: () => string | Promise<string>;
    signal?: AbortSignal;
  },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(await options.describe());
    await sleep(options.intervalMs ?? 100);
  }
}

/**
 * Resolves when `url` answers 200 (sent with `headers`, e.g. credentials); rejects early, with its
 * log, if the process exits first.
 */
export async function waitForReady(
  url: string,
  process: FleetProcess,
  timeoutMs = 30_000,
  headers: Record<string, string> = {},
): Promise<void> {
  await waitFor(
    async () => {
      if (process.hasExited()) {
        throw new Error(`${process.label} exited before it was ready:\n${logTail(process.logFile)}`);
      }
      try {
        const response = await fetch(url, { headers, signal: AbortSignal.timeout(1000) });
        await response.body?.cancel();
        return response.status === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    },
    {
      timeoutMs,
      intervalMs: 150,
      describe: () =>
        `${process.label} not ready at ${url} after ${timeoutMs / 1000} s:\n${logTail(process.logFile)}`,
    },
  );
}
