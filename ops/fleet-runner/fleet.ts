import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readProcfile } from "./procfile.ts";

/** A child process of the fleet: its output goes to `logFile`, never to the terminal. */
export interface FleetProcess {
  readonly label: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when it ends: the exit code, or the signal's name. */
  readonly exited: Promise<number | string>;
  hasExited(): boolean;
}

/** The processes a demo or benchmark run started; `stopAll` ends every one, whatever happens. */
export interface Fleet {
  readonly logDir: string;
  /** Starts a Procfile process (`web`, `worker`, `relay`, `release`) under a label. */
  startProcfile(name: string, label: string, env: Record<string, string>): FleetProcess;
  /** Starts a TypeScript entry point of this repository (the Stripe emulator, the bench's sender). */
  startScript(
    script: string,
    args: readonly string[],
    label: string,
    env: Record<string, string>,
  ): FleetProcess;
  /** Runs a Procfile process to its end; rejects with the tail of its log unless it exits 0. */
  runProcfile(name: string, label: string, env: Record<string, string>, timeoutMs: number): Promise<void>;
  /** SIGTERM, then SIGKILL after the grace period; resolves when it has exited. */
  stop(process: FleetProcess): Promise<void>;
  /** Stops every process still running, the last started first. Idempotent. */
  stopAll(): Promise<void>;
  /** SIGKILL to every process still running: for `process.on("exit")`, which cannot wait. */
  killAllNow(): void;
}

const stopGraceMs = 6000;

/**
 * The fleet of one run, rooted at the repository. Children run in their own process group, so a
 * Ctrl-C reaches only us and we stop them in order; their pids are written to `pidFile` so the
 * next run can end what a run killed with SIGKILL left behind.
 */
export function createFleet(options: { root: string; logDir: string; pidFile: string }): Fleet {
  const procfile = readProcfile(options.root);
  const running = new Map<number, { process: FleetProcess; child: ChildProcess }>();
  const started: FleetProcess[] = [];

  const writePids = () => {
    const lines = [...running.values()].map(({ process }) => `${process.pid} ${process.label}`);
    writeFileSync(options.pidFile, lines.length === 0 ? "" : `${lines.join("\n")}\n`);
  };

  const launch = (
    program: string,
    args: readonly string[],
    label: string,
    env: Record<string, string>,
  ): FleetProcess => {
    const logFile = join(options.logDir, `${label}.log`);
    const fd = openSync(logFile, "a");
    const child = spawn(program === "node" ? process.execPath : program, [...args], {
      cwd: options.root,
      env: { ...process.env, ...env },
      stdio: ["ignore", fd, fd],
      detached: true,
    });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`could not start ${label} (${program})`);
    let done = false;
    const exited = new Promise<number | string>((resolve) => {
      child.once("exit", (code, signal) => {
        done = true;
        running.delete(fleetProcess.pid);
        writePids();
        resolve(code ?? signal ?? -1);
      });
      child.once("error", () => {
        done = true;
        resolve(-1);
      });
    });
    const fleetProcess: FleetProcess = { label, pid: child.pid, logFile, exited, hasExited: () => done };
    running.set(child.pid, { process: fleetProcess, child });
    started.push(fleetProcess);
    writePids();
    return fleetProcess;
  };

  const command = (name: string) => {
    const found = procfile.get(name);
    if (found === undefined) throw new Error(`the Procfile has no "${name}" process`);
    return found;
  };

  const stop = async (target: FleetProcess): Promise<void> => {
    if (target.hasExited()) return;
    signal(target.pid, "SIGTERM");
    const timer = setTimeout(() => signal(target.pid, "SIGKILL"), stopGraceMs);
    await target.exited;
    clearTimeout(timer);
  };

  let stoppingAll: Promise<void> | undefined;

  return {
    logDir: options.logDir,
    startProcfile(name, label, env) {
      const { program, args } = command(name);
      return launch(program, args, label, env);
    },
    startScript(script, args, label, env) {
      return launch("node", ["--import", "tsx", script, ...args], label, env);
    },
    async runProcfile(name, label, env, timeoutMs) {
      const { program, args } = command(name);
      const child = launch(program, args, label, env);
      const timer = setTimeout(() => signal(child.pid, "SIGKILL"), timeoutMs);
      const code = await child.exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`${label} exited with ${code}:\n${logTail(child.logFile)}`);
    },
    stop,
    stopAll() {
      stoppingAll ??= (async () => {
        for (const target of [...started].reverse()) await stop(target);
        writePids();
      })();
      return stoppingAll;
    },
    killAllNow() {
      for (const { process } of running.values()) signal(process.pid, "SIGKILL");
    },
  };
}

/** The last lines of a log file, indented, for an error message. */
export function logTail(file: string, lines = 15): string {
  if (!existsSync(file)) return "  (no log)";
  const text = readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines);
  return text.map((line) => `  ${line.length > 400 ? `${line.slice(0, 400)}…` : line}`).join("\n");
}

/**
 * Ends processes an earlier run (killed before it could stop them) left behind: only pids from its
 * pid file whose working directory is still this repository.
 */
export function endLeftovers(pidFile: string, root: string): number {
  if (!existsSync(pidFile)) return 0;
  let ended = 0;
  for (const line of readFileSync(pidFile, "utf8").split("\n")) {
    const pid = Number(line.split(" ")[0]);
    if (!Number.isSafeInteger(pid) || pid <= 1) continue;
    try {
      if (readlinkSync(`/proc/${pid}/cwd`) !== root) continue;
    } catch {
      continue; // gone, or not ours to see
    }
    signal(pid, "SIGKILL");
    ended += 1;
  }
  writeFileSync(pidFile, "");
  return ended;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
