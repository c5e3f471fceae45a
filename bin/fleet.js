#!/usr/bin/env node
// The Procfile's entry: `node bin/fleet.js <process>` runs a process from compiled output (dist/),
// building it first when dist/ is missing or older than the sources. Under tsx every process
// carried ~60 MB more RSS (its loader thread) and started seconds later.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const processes = ["web", "worker", "relay", "release"];
// What tsconfig.build.json compiles, and what changes its output.
const sourceDirs = ["lib", "workers", "ops"];
const inputs = ["tsconfig.json", "tsconfig.build.json", "package-lock.json"];
const stamp = join(root, "dist", ".build-stamp");
const lock = join(root, "dist.lock");
const staleLockMs = 120_000;

function fail(line) {
  process.stderr.write(`fleet: ${line}\n`);
  process.exit(1);
}

/** The newest modification time among the build's inputs. */
function newestSource() {
  let newest = 0;
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of sourceDirs) if (existsSync(join(root, dir))) visit(join(root, dir));
  for (const file of inputs) {
    if (existsSync(join(root, file))) newest = Math.max(newest, statSync(join(root, file)).mtimeMs);
  }
  return newest;
}

function isFresh() {
  return existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource();
}

// Several processes may start at once (two workers and a relay): one builds, the others wait.
async function buildOnce() {
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > staleLockMs) {
        rmSync(lock, { recursive: true, force: true });
      }
      await sleep(200);
    }
  }
  let problem;
  try {
    if (!isFresh()) problem = build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  if (problem !== undefined) fail(problem);
}

/** Compiles dist/ with the local TypeScript; what went wrong, or undefined. */
function build() {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  if (!existsSync(tsc)) {
    return "dist/ is missing or older than the sources and TypeScript is not installed: run `npm run build`";
  }
  process.stderr.write("fleet: dist/ is missing or older than the sources; building it (npm run build)\n");
  try {
    execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], {
      cwd: root,
      stdio: ["ignore", 2, 2],
    });
  } catch {
    return "the build failed (tsc's errors above)";
  }
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  return undefined;
}

const name = process.argv[2];
if (!processes.includes(name)) {
  fail(`unknown process ${JSON.stringify(name ?? "")}: one of ${processes.join(", ")}`);
}
if (!isFresh()) await buildOnce();
// The process module starts itself when it is the entry point (lib/lifecycle's isMain).
const entry = join(root, "dist", "workers", `${name}.js`);
process.argv.splice(1, 2, entry);
await import(pathToFileURL(entry).href);
