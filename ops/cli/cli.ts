import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../../lib/config.ts";
import { isMain } from "../../lib/lifecycle.ts";
import { UsageError, type Verb, type VerbResult } from "./verb.ts";
import { brokerPermissions } from "./verbs/broker-permissions.ts";
import { opsConsole } from "./verbs/console.ts";
import { dlqList } from "./verbs/dlq-list.ts";
import { dlqPurge } from "./verbs/dlq-purge.ts";
import { dlqReplay } from "./verbs/dlq-replay.ts";
import { dlqShow } from "./verbs/dlq-show.ts";
import { dlqStats } from "./verbs/dlq-stats.ts";
import { doctor } from "./verbs/doctor.ts";
import { migrate } from "./verbs/migrate.ts";
import { prune } from "./verbs/prune.ts";
import { reconcile } from "./verbs/reconcile.ts";
import { topology } from "./verbs/topology.ts";

// billing-ops: exit 0 done, 1 failed, 2 usage error; --json for machines; one line per problem.

export const verbs: readonly Verb[] = [
  migrate,
  topology,
  dlqStats,
  dlqList,
  dlqShow,
  dlqReplay,
  dlqPurge,
  reconcile,
  prune,
  opsConsole,
  doctor,
  brokerPermissions,
];

export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  out(text: string): void;
  err(text: string): void;
  isTerminal: boolean;
  signal: AbortSignal;
}

function findVerb(args: string[]): { verb: Verb; rest: string[] } | undefined {
  const matches = verbs.filter((v) => v.words.every((w, i) => args[i] === w));
  const verb = matches.sort((a, b) => b.words.length - a.words.length)[0];
  return verb === undefined ? undefined : { verb, rest: args.slice(verb.words.length) };
}

function overview(): string {
  return [
    "usage: billing-ops <verb> [options] [--json]",
    "",
    ...verbs.flatMap((v) => [`  ${v.usage}`, `      ${v.summary}`]),
    "",
    "exit status: 0 done, 1 failed, 2 usage error. `billing-ops <verb> --help` for a verb's options.",
  ].join("\n");
}

/** The one line for words that select no verb; names the sub-verbs of a group such as `dlq`. */
function unknownVerb(args: string[]): string {
  const group = verbs.filter((v) => v.words.length > 1 && v.words[0] === args[0]);
  if (group.length > 0) {
    const subs = group.map((v) => v.words.slice(1).join(" ")).join(", ");
    return `billing-ops ${args[0]}: needs one of ${subs} (billing-ops --help lists them)`;
  }
  return `billing-ops: unknown verb "${args.filter((a) => !a.startsWith("-")).join(" ")}" (billing-ops --help lists them)`;
}

function verbHelp(verb: Verb): string {
  return [
    `usage: billing-ops ${verb.usage} [--json]`,
    "",
    verb.summary,
    ...(verb.help ? ["", verb.help] : []),
  ].join("\n");
}

/** Runs the CLI on argv (without node and script); returns the exit status. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    io.out(`${overview()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const found = findVerb(argv);
  if (found === undefined) {
    io.err(`${unknownVerb(argv)}\n`);
    return 2;
  }
  const { verb, rest } = found;
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: { ...verb.options, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    io.err(`billing-ops ${verb.words.join(" ")}: ${(error as Error).message}\n`);
    return 2;
  }
  if (values.help === true) {
    io.out(`${verbHelp(verb)}\n`);
    return 0;
  }
  const json = values.json === true;
  let result: VerbResult;
  let progressShown = false;
  // Progress rewrites one stderr line; it is ended before the verb's output or error.
  const endProgress = () => {
    if (progressShown) io.err("\n");
    progressShown = false;
  };
  try {
    const config = loadConfig(io.env, "ops");
    const progress = (line: string) => {
      if (!io.isTerminal || json) return;
      progressShown = true;
      io.err(`\r\u001b[K${line}`);
    };
    const notice = (line: string) => {
      endProgress();
      io.err(`${line}\n`);
    };
    result = await verb.run({ config, signal: io.signal, progress, notice }, values, positionals);
    endProgress();
  } catch (error) {
    endProgress();
    if (error instanceof UsageError) {
      io.err(`billing-ops ${verb.words.join(" ")}: ${error.message}\n`);
      return 2;
    }
    const reason = error instanceof ConfigError ? `invalid configuration: ${error.message}` : describe(error);
    if (json) io.out(`${JSON.stringify({ ok: false, error: reason })}\n`);
    io.err(`billing-ops ${verb.words.join(" ")}: ${reason}\n`);
    return 1;
  }
  io.out(json ? `${JSON.stringify(result.json, null, 2)}\n` : result.lines.map((l) => `${l}\n`).join(""));
  return result.ok ? 0 : 1;
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

if (isMain(import.meta.url)) {
  const controller = new AbortController();
  process.on("SIGINT", () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  });
  runCli(process.argv.slice(2), {
    env: process.env,
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    isTerminal: process.stderr.isTTY === true,
    signal: controller.signal,
  }).then((code) => process.exit(code));
}
