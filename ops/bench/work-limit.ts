import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

// The database's own limit for the worker's full work, measured in the same run as the figures
// it scales (this machine moves ±15% run to run): `full-work-limit.sh` from the project's shared
// bench folder, pgbench alone doing per event what the worker does (inbox, audit, payment, account
// lock, ledger entry and balance move, two outbox rows), set-based, 50 events per transaction.

/** One measure of the limit. */
export interface WorkLimit {
  readonly eventsPerS: number;
  readonly seconds: number;
}

/** The script, beside the checkout (../shared/bench), if this machine has it. */
export function workLimitScript(root: string): string | undefined {
  const script = join(root, "..", "shared", "bench", "full-work-limit.sh");
  return existsSync(script) ? script : undefined;
}

/** Runs the limit on `database` (its billing tables are truncated) for `seconds`. */
export async function measureWorkLimit(
  script: string,
  database: string,
  seconds: number,
): Promise<WorkLimit> {
  const { stdout } = await run("bash", [script, database, String(seconds)], {
    timeout: (seconds + 60) * 1000,
  });
  const match = /^(\d+) events\/s/m.exec(stdout);
  if (match === null) throw new Error(`full-work-limit.sh printed no rate: ${stdout.trim()}`);
  return { eventsPerS: Number(match[1]), seconds };
}
