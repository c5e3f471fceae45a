#!/usr/bin/env node
// The package's bin: runs the TypeScript CLI through tsx (no build step needed), or the compiled
// CLI where the sources are not shipped (the Docker image holds dist/ only).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const source = new URL("../ops/cli/cli.ts", import.meta.url);
if (existsSync(fileURLToPath(source))) {
  const { register } = await import("tsx/esm/api");
  register();
  process.argv[1] = fileURLToPath(source);
  await import(source.href);
} else {
  const compiled = new URL("../dist/ops/cli/cli.js", import.meta.url);
  process.argv[1] = fileURLToPath(compiled);
  await import(compiled.href);
}
