import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

// The exit-status contract seen from a shell, through the package's bin: 0 done, 1 failed,
// 2 usage error; one line on stderr for a problem, never a stack trace.

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

const root = new URL("../..", import.meta.url).pathname;

function billingOps(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["bin/billing-ops.js", ...args],
      {
        cwd: root,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LOG_LEVEL: "silent", ...env },
      },
      (error, out, err) => resolve({ code: error === null ? 0 : Number(error.code), out, err }),
    );
  });
}

describe("bin/billing-ops", () => {
  it("exits 0, 1 and 2 as the Contract says, with one line per problem", async () => {
    const env = { DATABASE_URL: database.url };
    const [help, stats, missing, purge, badConfig] = await Promise.all([
      billingOps(["--help"], env),
      billingOps(["dlq", "stats", "--json"], env),
      billingOps(["dlq", "show", "4242"], env),
      billingOps(["dlq", "purge", "--all"], env),
      billingOps(["dlq", "stats"], { DATABASE_URL: "not-a-url" }),
    ]);
    expect(help.code).toBe(0);
    expect(help.out).toContain("dlq replay (--id ID… | --type T | --error TEXT | --all)");

    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.out)).toEqual({ total: 0, groups: [] });

    expect(missing.code).toBe(1);
    expect(missing.out).toBe("no dead letter 4242\n");

    expect(purge.code).toBe(2);
    expect(purge.out).toBe("");
    expect(purge.err).toMatch(
      /^billing-ops dlq purge: purging gives up on messages: add --yes to confirm[^\n]*\n$/,
    );

    expect(badConfig.code).toBe(1);
    expect(badConfig.err).toBe(
      "billing-ops dlq stats: invalid configuration: DATABASE_URL: not a URL (expected postgres://host:port/…)\n",
    );
    for (const run of [help, stats, missing, purge, badConfig]) expect(run.err).not.toMatch(/\n\s+at /);
  });
});
