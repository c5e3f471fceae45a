import { readFileSync } from "node:fs";

/** Samples the resident set size of processes; `stop` returns the peak per pid, in MiB. */
export interface RssSampler {
  stop(): Map<number, number>;
}

/** VmRSS of a process from /proc, in MiB; undefined once it has gone. */
export function rssMiB(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** Samples `pids` every `intervalMs` until stopped. */
export function sampleRss(pids: readonly number[], intervalMs = 200): RssSampler {
  const peak = new Map<number, number>();
  const sample = () => {
    for (const pid of pids) {
      const value = rssMiB(pid);
      if (value !== undefined) peak.set(pid, Math.max(peak.get(pid) ?? 0, value));
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
