import { describe, expect, it } from "vitest";
import { parseProcfile, readProcfile } from "../../ops/fleet-runner/procfile.ts";

describe("parseProcfile", () => {
  // The demo starts processes exactly as the Procfile says: every line must come through intact.
  it("splits each line into program and arguments", () => {
    const commands = parseProcfile(
      "web: node --import tsx workers/web.ts\n\n# comment\nrelay:  node  x.ts\n",
    );
    expect(commands.get("web")).toEqual({ program: "node", args: ["--import", "tsx", "workers/web.ts"] });
    expect(commands.get("relay")).toEqual({ program: "node", args: ["x.ts"] });
    expect(commands.size).toBe(2);
  });

  it("refuses a line that is not name: command", () => {
    expect(() => parseProcfile("web node x.ts")).toThrow(/line 1/);
  });

  // The repository's own Procfile names every process the demo and the benchmark start.
  it("reads the repository's Procfile with web, worker, relay, release, reconciler and console", () => {
    const commands = readProcfile(new URL("../..", import.meta.url).pathname);
    for (const name of ["web", "worker", "relay", "release", "reconciler", "console"])
      expect(commands.has(name)).toBe(true);
  });
});
