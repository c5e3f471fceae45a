import type { ParseArgsConfig } from "node:util";
import type { Config } from "../../lib/config.ts";

/** A mistake in how the CLI was called: one line, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** What a verb hands back: human lines, the --json value, and whether it succeeded (exit 0 or 1). */
export interface VerbResult {
  readonly ok: boolean;
  readonly lines: readonly string[];
  readonly json: unknown;
}

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface VerbContext {
  readonly config: Config;
  /** Writes a progress line to stderr when it is a terminal (never into --json output). */
  progress(line: string): void;
  /** Aborted on SIGINT: long verbs stop between items. */
  readonly signal: AbortSignal;
  /** Writes one line to stderr at once, terminal or not (never into --json output). */
  notice(line: string): void;
}

export interface Verb {
  /** The words that select it, e.g. ["dlq", "replay"]. */
  readonly words: readonly string[];
  readonly summary: string;
  /** The usage line after `billing-ops`, e.g. "dlq show ID". */
  readonly usage: string;
  readonly options: Options;
  /** Extra --help text: what the options mean. */
  readonly help?: string;
  run(context: VerbContext, values: Values, positionals: string[]): Promise<VerbResult>;
}
