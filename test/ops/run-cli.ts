import { runCli } from "../../ops/cli/cli.ts";

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = Record<string, unknown>>(): T;
}

/** Runs billing-ops in-process with exactly this environment. */
export async function runOps(
  argv: string[],
  env: Record<string, string | undefined>,
  options: { signal?: AbortSignal; isTerminal?: boolean; onErr?: (text: string) => void } = {},
): Promise<CliRun> {
  let out = "";
  let err = "";
  const code = await runCli(argv, {
    env: { LOG_LEVEL: "silent", ...env },
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
      options.onErr?.(text);
    },
    isTerminal: options.isTerminal ?? false,
    signal: options.signal ?? new AbortController().signal,
  });
  return { code, out, err, json: <T>() => JSON.parse(out) as T };
}
