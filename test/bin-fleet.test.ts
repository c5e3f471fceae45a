import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { testSecrets } from "./helpers/config.ts";
import { useTestServices } from "./helpers/isolated-services.ts";
import { type Spawned, spawnNode } from "./helpers/spawn.ts";

// bin/fleet.js is what the Procfile runs: compiled output, built on demand when missing or stale.
// The build logic runs against a tiny project in a temporary directory, so these tests never
// delete or rebuild the repository's dist/ under the other test files.

const repo = fileURLToPath(new URL("..", import.meta.url));
const building = "fleet: dist/ is missing or older than the sources; building it";

/** Lines of output other than bin/fleet.js's note that it is building dist/. */
const ownLines = (child: Spawned) =>
  child
    .output()
    .trim()
    .split("\n")
    .filter((line) => !line.startsWith(building));

describe("bin/fleet.js on a small project", () => {
  const roots: string[] = [];
  afterAll(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  /** A project laid out like this one whose worker prints a value from lib/. */
  function project(options: { typescript: boolean }): string {
    const root = mkdtempSync(join(tmpdir(), "bft-fleet-"));
    roots.push(root);
    const write = (path: string, text: string) => {
      mkdirSync(join(root, path, ".."), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    mkdirSync(join(root, "bin"));
    copyFileSync(join(repo, "bin/fleet.js"), join(root, "bin/fleet.js"));
    write("package.json", JSON.stringify({ type: "module" }));
    write(
      "tsconfig.json",
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          strict: true,
          skipLibCheck: true,
          allowImportingTsExtensions: true,
          rewriteRelativeImportExtensions: true,
          types: ["node"],
          outDir: "dist",
          rootDir: ".",
        },
      }),
    );
    write("tsconfig.build.json", JSON.stringify({ extends: "./tsconfig.json", include: ["workers", "lib"] }));
    write("lib/version.ts", 'export const version: string = "v1";\n');
    write(
      "workers/worker.ts",
      'import { version } from "../lib/version.ts";\n\nconsole.log("worker", version, "from", process.argv[1]);\n',
    );
    if (options.typescript) symlinkSync(join(repo, "node_modules"), join(root, "node_modules"), "dir");
    return root;
  }

  const run = (root: string, name = "worker") => spawnNode([join(root, "bin/fleet.js"), name], {});

  it("builds a missing dist/, reuses a fresh one, and rebuilds once for processes started together", async () => {
    const root = project({ typescript: true });
    const first = run(root);
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain(building);
    // the worker runs as node's entry point, from dist/
    expect(ownLines(first)).toEqual([`worker v1 from ${join(root, "dist/workers/worker.js")}`]);

    const again = run(root);
    expect(await again.exited).toBe(0);
    expect(again.output().trim()).toBe(`worker v1 from ${join(root, "dist/workers/worker.js")}`);

    // An edit to lib/ reaches the processes; of three started at once, one builds and two wait.
    writeFileSync(join(root, "lib/version.ts"), 'export const version: string = "v2";\n');
    const together = [run(root), run(root), run(root)];
    expect(await Promise.all(together.map((child) => child.exited))).toEqual([0, 0, 0]);
    expect(together.filter((child) => child.output().includes(building))).toHaveLength(1);
    for (const child of together) expect(ownLines(child)).toEqual([expect.stringMatching(/^worker v2 /)]);
    expect(statSync(join(root, "dist/.build-lock"), { throwIfNoEntry: false })).toBeUndefined();
  }, 60_000);

  it("runs a shipped dist/ as it is when the sources are not there (the Docker image)", async () => {
    const root = project({ typescript: true });
    expect(await run(root).exited).toBe(0);
    rmSync(join(root, "workers"), { recursive: true });
    rmSync(join(root, "lib"), { recursive: true });
    rmSync(join(root, "dist/.build-stamp"));
    const shipped = run(root);
    expect(await shipped.exited).toBe(0);
    expect(shipped.output().trim()).toMatch(/^worker v1 /);
  }, 30_000);

  it("refuses a stale dist/ with one line when TypeScript is not installed (npm ci --omit=dev)", async () => {
    const child = run(project({ typescript: false }));
    expect(await child.exited).toBe(1);
    expect(child.output().trim()).toBe(
      "fleet: dist/ is missing or older than the sources and TypeScript is not installed: run `npm run build` where the dev dependencies are",
    );
  });

  it("refuses an unknown or missing process name with one line naming the valid ones", async () => {
    const unknown = spawnNode(["bin/fleet.js", "wrker"], {});
    expect(await unknown.exited).toBe(1);
    expect(unknown.output().trim()).toBe(
      'fleet: unknown process "wrker": one of web, worker, relay, release, reconciler, console',
    );
    const missing = spawnNode(["bin/fleet.js"], {});
    expect(await missing.exited).toBe(1);
    expect(missing.output().trim()).toBe(
      "fleet: name the process to run: one of web, worker, relay, release, reconciler, console",
    );
  });
});

describe("the Procfile's processes through bin/fleet.js", () => {
  const services = useTestServices();

  const env = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: services.database.url,
    AMQP_URL: services.vhost.url,
    METRICS_PORT: "0",
    STRIPE_SECRET_KEY: testSecrets.stripeKey,
    ...extra,
  });

  it("runs the worker in its own process, so SIGTERM still stops it with exit 0 within 5 s", async () => {
    const child = spawnNode(["bin/fleet.js", "worker"], env());
    // on a fresh clone this builds dist/ first
    await child.waitForOutput("consuming billing_queue", 90_000);
    const signalled = Date.now();
    child.child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5000);
  }, 120_000);

  it("stops release on a bad DATABASE_URL with one line naming it", async () => {
    const release = spawnNode(["bin/fleet.js", "release"], env({ DATABASE_URL: "not-a-url" }));
    expect(await release.exited).toBe(1);
    const lines = ownLines(release);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^billing-fleet release: invalid configuration: DATABASE_URL/);
  }, 120_000);
});
