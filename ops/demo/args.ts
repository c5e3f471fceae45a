import { parseArgs } from "node:util";

export interface DemoArgs {
  /** About how many Stripe events the day makes. */
  readonly events: number;
  /** Seed of the plan and of the emulator's duplicates and reordering. */
  readonly seed: number;
  /** Leave the ops console and the fleet running on the day's data until Ctrl-C. */
  readonly keep: boolean;
}

export const defaultEvents = 1000;

export const demoUsage = `usage: npm run demo -- [--events N] [--seed S] [--keep]

  Runs release, the Stripe emulator, web, two workers and relay on the local PostgreSQL and
  RabbitMQ (database billing_demo and vhost billing_demo, recreated each run), drives a simulated
  billing day through signed webhooks and commands, prints a summary and checks the invariants.
  It ends with the ops console's URL and a login for the day's data.

  --events N   size of the day in Stripe events, about (default ${defaultEvents}; 100 to 100000)
  --seed S     seed for the plan, duplicates and reordering (default 1)
  --keep       leave the ops console (and the fleet) running on the day's data until Ctrl-C
  --help`;

/** A bad flag: main prints the message and the usage, and exits 2. */
export class DemoUsageError extends Error {
  override name = "DemoUsageError";
}

/** Reads the demo's flags; "help" when asked for it. */
export function parseDemoArgs(argv: readonly string[]): DemoArgs | "help" {
  let values: { events?: string; seed?: string; help?: boolean; keep?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        events: { type: "string" },
        seed: { type: "string" },
        help: { type: "boolean" },
        keep: { type: "boolean" },
      },
    }));
  } catch (error) {
    throw new DemoUsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) return "help";
  return {
    events: whole("--events", values.events, defaultEvents, 100, 100_000),
    seed: whole("--seed", values.seed, 1, 0, 2 ** 32 - 1),
    keep: values.keep === true,
  };
}

function whole(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new DemoUsageError(`${flag}: not a whole number: ${raw}`);
  const value = Number(raw);
  if (value < min || value > max) throw new DemoUsageError(`${flag}: must be between ${min} and ${max}`);
  return value;
}
