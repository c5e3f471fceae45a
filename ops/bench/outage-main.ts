import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Fleet } from "../fleet-runner/fleet.ts";
import { runFleetMain } from "../fleet-runner/run-main.ts";
import { setUpStage } from "./bench-stage.ts";
import { outageRun } from "./outage-run.ts";

// `npm run bench:outage`: the outage part of the bench on its own (the whole bench calls
// outageRun too). Its own database and vhost; the machine's PostgreSQL is never stopped.
//   --rate 100 --outage 30 --warm 10 --after 30 --workers 2   (the bench's figures)

const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const name = "billing_bench_outage";
let fleet: Fleet | undefined;

const step = (text: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${text}\n`);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rate: { type: "string", default: "100" },
      outage: { type: "string", default: "30" },
      warm: { type: "string", default: "10" },
      after: { type: "string", default: "30" },
      workers: { type: "string", default: "2" },
    },
  });
  const number = (key: keyof typeof values) => {
    const value = Number(values[key]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${key} must be a positive number`);
    return value;
  };
  const stage = await setUpStage({ root, name, step });
  if (stage === undefined) return 1;
  fleet = stage.fleet;
  const { env, pool, secret } = stage;
  try {
    const result = await outageRun({
      fleet,
      env,
      pool,
      secret,
      ratePerS: number("rate"),
      outageSeconds: number("outage"),
      warmSeconds: number("warm"),
      afterSeconds: number("after"),
      workers: number("workers"),
      drainTimeoutMs: 120_000,
      step,
    });
    const dir = join(root, "bench-results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `outage-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    step(`written ${file}`);
    const clean = result.exactlyOnce && result.parked === 0 && result.retriedForOutage === 0;
    return clean ? 0 : 1;
  } finally {
    await pool.end();
  }
}

runFleetMain({ name: "bench:outage", main, fleet: () => fleet });
