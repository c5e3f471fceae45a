#!/usr/bin/env node
// The Procfile's entry: `node bin/fleet.js <process>` runs a process from compiled output (dist/),
// building it first when dist/ is missing or older than the sources. Under tsx every process
// carried ~60 MB more RSS (its loader thread) and started seconds later.
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const processes = ["web", "worker", "relay", "release", "reconciler", "console"];
const dist = join(root, "dist");
// Written after a successful build (also by `npm run build`'s postbuild); its mtime is the build's start.
const stamp = join(dist, ".build-stamp");
const lock = join(dist, ".build-lock");
// A crashed builder leaves the lock behind: its owner is gone, or it is older than any build takes.
const staleLockMs = 120_000;
const pollMs = 200;

function fail(line) {
  process.stderr.write(`fleet: ${line}\n`);
  process.exit(1);
}

/** The directories tsconfig.build.json compiles. */
function sourceDirs() {
  try {
    const { include } = JSON.parse(readFileSync(join(root, "tsconfig.build.json"), "utf8"));
    if (Array.isArray(include)) return include;
  } catch {
    // tsconfig allows comments; fall back to what it holds today
  }
  return ["lib", "workers", "ops"];
}

/** The newest mtime among the build's inputs; directories count, so a deleted or renamed file does. */
function newestInput() {
  let newest = 0;
  const visit = (dir) => {
    newest = Math.max(newest, statSync(dir).mtimeMs);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of sourceDirs()) if (existsSync(join(root, dir))) visit(join(root, dir));
  for (const file of ["tsconfig.json", "tsconfig.build.json", "package-lock.json"]) {
    const stat = statSync(join(root, file), { throwIfNoEntry: false });
    if (stat !== undefined) newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

function isFresh() {
  const built = statSync(stamp, { throwIfNoEntry: false });
  return built !== undefined && built.mtimeMs >= newestInput();
}

function lockIsStale() {
  const held = statSync(lock, { throwIfNoEntry: false });
  if (held === undefined) return false;
  if (Date.now() - held.mtimeMs > staleLockMs) return true;
  try {
    // No pid file yet: its owner has only just taken the lock.
    process.kill(Number(readFileSync(join(lock, "pid"), "utf8")), 0);
    return false;
  } catch (error) {
    return error.code === "ESRCH";
  }
}

// Several processes may start at once (two workers and a relay): one builds, the others wait and
// find dist/ fresh when they get the lock.
async function buildOnce() {
  mkdirSync(dist, { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    if (lockIsStale()) rmSync(lock, { recursive: true, force: true });
    else await sleep(pollMs);
  }
  let problem;
  try {
    writeFileSync(join(lock, "pid"), String(process.pid));
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
    return "dist/ is missing or older than the sources and TypeScript is not installed: run `npm run build` where the dev dependencies are";
  }
  process.stderr.write("fleet: dist/ is missing or older than the sources; building it (npm run build)\n");
  // An edit made while tsc runs must still count as newer than this build.
  const started = new Date();
  try {
    execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], {
      cwd: root,
      stdio: ["ignore", 2, 2],
    });
  } catch {
    return "the build failed (tsc's errors above)";
  }
  writeFileSync(stamp, `${started.toISOString()}\n`);
  utimesSync(stamp, started, started);
  return undefined;
}

const name = process.argv[2];
if (!processes.includes(name)) {
  fail(
    `${name === undefined ? "name the process to run" : `unknown process "${name}"`}: one of ${processes.join(", ")}`,
  );
}
// An image that ships dist/ without the sources (the Dockerfile's) runs it as it is.
const shipsSources = existsSync(join(root, "workers"));
if (shipsSources && !isFresh()) await buildOnce();
const entry = join(dist, "workers", `${name}.js`);
if (!existsSync(entry)) fail(`${entry} is missing: run \`npm run build\``);
// The process module starts itself when it is node's entry point (lib/lifecycle's isMain), so it
// runs in this very process: signals reach it exactly as under `node dist/workers/<name>.js`.
process.argv.splice(1, 2, entry);
await import(pathToFileURL(entry).href);
