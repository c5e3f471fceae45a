#!/usr/bin/env node
// The package's bin: runs the TypeScript CLI through tsx (no build step needed).
import { register } from "tsx/esm/api";

register();
process.argv[1] = new URL("../ops/cli.ts", import.meta.url).pathname;
await import("../ops/cli.ts");
