import { type ChildProcess, spawn } from "node:child_process";

export interface Spawned {
  readonly child: ChildProcess;
  /** Everything written so far to stdout and stderr. */
  output(): string;
  /** Resolves when the output contains `text`. */
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

/** Starts `node --import tsx <script>` from the repository root with exactly the given environment. */
export function spawnScript(script: string, env: Record<string, string>, args: string[] = []): Spawned {
  return spawnNode(["--import", "tsx", script, ...args], env);
}

/** Starts `node <args>` from the repository root with exactly the given environment. */
export function spawnNode(args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, args, {
    cwd: new URL("../..", import.meta.url).pathname,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const waiters: Array<() => void> = [];
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? signal ?? -1));
  });
  return {
    child,
    output: () => out,
    exited,
    waitForOutput(text, timeoutMs = 15_000) {
      const matches = () => (typeof text === "string" ? out.includes(text) : text.test(out));
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "${String(text)}" in output:\n${out}`)),
          timeoutMs,
        );
        const check = () => {
          if (matches()) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        exited.then(() => {
          if (!matches()) {
            clearTimeout(timer);
            reject(new Error(`exited before "${String(text)}":\n${out}`));
          }
        });
        check();
      });
    },
  };
}
