import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

// Where the two cores went during a measurement: CPU time per group of processes (ours by label,
// the brokers by name, everything else as "other"), read from /proc. "other" is what the rest of
// the machine took: a figure taken while it is high is not the fleet's.

/** CPU used during a window, in cores (1 = one core busy the whole time), by group. */
export type CpuShares = Record<string, number>;

export interface CpuSampler {
  stop(): CpuShares;
}

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Which group a process belongs to: our label for it (or its parent, e.g. tsx's esbuild), else its name. */
export function groupOf(
  comm: string,
  labels: ReadonlyMap<number, string>,
  pid: number,
  ppid: number,
): string {
  const label = labels.get(pid) ?? labels.get(ppid);
  if (label !== undefined) return label;
  if (comm === "beam.smp" || comm.startsWith("erl_") || comm === "epmd") return "rabbitmq";
  if (comm === "postgres") return "postgres";
  if (comm === "wrk") return "wrk";
  return "other";
}

/** utime + stime in clock ticks from a /proc/<pid>/stat line (the command name may hold spaces). */
export function cpuTicks(statLine: string): ProcessCpu | undefined {
  const open = statLine.indexOf("(");
  const close = statLine.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const fields = statLine.slice(close + 2).split(" ");
  // after the command: state is field 3 of stat(5), ppid 4, utime and stime 14 and 15, starttime 22
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const startTime = Number(fields[19]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { comm: statLine.slice(open + 1, close), ppid, ticks: utime + stime, startTime };
}

interface ProcessCpu {
  readonly comm: string;
  readonly ppid: number;
  readonly ticks: number;
  /** When it started (ticks after boot): a pid reused within the window starts later. */
  readonly startTime: number;
}

function snapshot(): Map<number, ProcessCpu> {
  const result = new Map<number, ProcessCpu>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return result; // not Linux
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parsed = cpuTicks(readFileSync(`/proc/${entry}/stat`, "utf8"));
      if (parsed !== undefined) result.set(Number(entry), parsed);
    } catch {
      // gone meanwhile
    }
  }
  return result;
}

/**
 * Samples every process until stopped; `labels` names our own children (pid → group). A process
 * born during the window counts from zero; one that died counts up to its last sample.
 */
export function sampleCpu(labels: ReadonlyMap<number, string>, intervalMs = 250): CpuSampler {
  const startedAt = performance.now();
  const first = snapshot();
  const last = new Map(first);
  const self = process.pid;
  const take = () => {
    for (const [pid, value] of snapshot()) last.set(pid, value);
  };
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      const seconds = (performance.now() - startedAt) / 1000;
      const shares: CpuShares = {};
      for (const [pid, value] of last) {
        const before = first.get(pid);
        // The same process is the same pid and start time. Not the same name: a kernel worker
        // renames itself after the queue it serves, and counting its lifetime then made "other"
        // look like a busy core on an idle machine.
        const same = before !== undefined && before.startTime === value.startTime;
        const used = value.ticks - (same ? before.ticks : 0);
        if (used <= 0) continue;
        const group = pid === self ? "bench" : groupOf(value.comm, labels, pid, value.ppid);
        shares[group] = (shares[group] ?? 0) + used / ticksPerSecond / seconds;
      }
      for (const key of Object.keys(shares)) shares[key] = Math.round((shares[key] ?? 0) * 100) / 100;
      return shares;
    },
  };
}

/** "web 0.92 · rabbitmq 0.61 · other 0.05": groups by share, those under 0.05 of a core left out. */
export function formatShares(shares: CpuShares): string {
  return Object.entries(shares)
    .filter(([, cores]) => cores >= 0.05)
    .sort(([, a], [, b]) => b - a)
    .map(([group, cores]) => `${group} ${cores.toFixed(2)}`)
    .join(" · ");
}
