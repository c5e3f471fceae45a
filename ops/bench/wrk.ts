import { spawn, spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { type BenchEvent, sign } from "./signed-events.ts";

/** What one wrk run measured. */
export interface WrkResult {
  readonly connections: number;
  readonly seconds: number;
  readonly requests: number;
  /** 2xx answers: webhooks durably on the broker. */
  readonly accepted: number;
  readonly acceptedPerS: number;
  readonly non2xx: number;
  readonly socketErrors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const script = fileURLToPath(new URL("webhooks.lua", import.meta.url));

/** wrk's version line, or undefined when it is not installed. */
export function wrkVersion(): string | undefined {
  const result = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  if (result.error !== undefined) return undefined;
  return /wrk\s+(\S+)/.exec(`${result.stdout}${result.stderr}`)?.[1] ?? "unknown";
}

/** Writes `count` events signed now, one "signature<TAB>body" per line (valid for the signature tolerance). */
export async function writeSignedRequests(
  file: string,
  secret: string,
  count: number,
  event: (index: number) => BenchEvent,
): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < count; i += 1) {
    const { body } = event(i);
    if (!out.write(`${sign(secret, body)}\t${body}\n`))
      await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  }
  await new Promise<void>((resolve, reject) => {
    out.once("error", reject);
    out.end(() => resolve());
  });
}

/** Runs wrk (a separate process) against `url` with the signed requests in `file`. */
export async function runWrk(options: {
  url: string;
  file: string;
  connections: number;
  seconds: number;
}): Promise<WrkResult> {
  const threads = Math.min(2, options.connections);
  const args = [
    ...["-t", String(threads), "-c", String(options.connections), "-d", `${options.seconds}s`],
    ...["--timeout", "10s", "-s", script, options.url, "--", options.file, String(threads)],
  ];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`)),
    );
  });
  return parseWrkOutput(output, options.connections);
}

/** Reads the BENCH_JSON line webhooks.lua prints. */
export function parseWrkOutput(output: string, connections: number): WrkResult {
  const line = /BENCH_JSON (\{.*\})/.exec(output)?.[1];
  if (line === undefined) throw new Error(`no result line in wrk's output:\n${output}`);
  const raw = JSON.parse(line) as Record<string, number>;
  const field = (name: string) => raw[name] ?? 0;
  const seconds = field("duration_us") / 1e6;
  const accepted = field("requests") - field("status_errors");
  return {
    connections,
    seconds,
    requests: field("requests"),
    accepted,
    acceptedPerS: seconds > 0 ? accepted / seconds : 0,
    non2xx: field("status_errors"),
    socketErrors: field("connect_errors") + field("read_errors") + field("write_errors") + field("timeouts"),
    p50Ms: field("p50_us") / 1000,
    p99Ms: field("p99_us") / 1000,
    maxMs: field("max_us") / 1000,
  };
}
