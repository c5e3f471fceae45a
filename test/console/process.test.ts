import { afterEach, describe, expect, it } from "vitest";
import { useTestServices } from "../helpers/isolated-services.ts";
import { type Spawned, spawnNode } from "../helpers/spawn.ts";
import { runOps } from "../ops/run-cli.ts";
import { basic, call } from "./console-client.ts";

// The console as ops start it: the Procfile's `node bin/fleet.js console` (compiled output, built on
// demand) and `billing-ops console` in the foreground. Both refuse to start without CONSOLE_USERS.

const services = useTestServices();
const users = "oncall:oncall-token-0123456789";
const auth = basic("oncall", "oncall-token-0123456789");
const children: Spawned[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.child.kill("SIGKILL");
});

const env = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: services.database.url,
  AMQP_URL: services.vhost.url,
  CONSOLE_PORT: "0",
  CONSOLE_USERS: users,
  ...extra,
});

describe("the console process (Procfile)", () => {
  it("serves pages and stops on SIGTERM with exit 0 within 5 s", async () => {
    const child = spawnNode(["bin/fleet.js", "console"], env());
    children.push(child);
    // on a fresh clone this builds dist/ first
    await child.waitForOutput(/"port":\d+.*"msg":"console listening"/, 90_000);
    const listening = child
      .output()
      .split("\n")
      .find((line) => line.includes('"msg":"console listening"'));
    const port = Number(/"port":(\d+)/.exec(listening ?? "")?.[1]);
    expect((await call(`http://127.0.0.1:${port}`, "/audit.json", { auth })).json()).toEqual({ entries: [] });
    const signalled = Date.now();
    child.child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5000);
  }, 120_000);

  it("stops at once with one line naming CONSOLE_USERS when it is missing", async () => {
    const child = spawnNode(["bin/fleet.js", "console"], env({ CONSOLE_USERS: "" }));
    children.push(child);
    expect(await child.exited).toBe(1);
    const lines = child
      .output()
      .trim()
      .split("\n")
      .filter((line) => !line.startsWith("fleet: dist/"));
    expect(lines).toEqual([
      "billing-fleet console: invalid configuration: CONSOLE_USERS: required by console (name:token,…; a token may be sha256=<hex>)",
    ]);
  }, 120_000);
});

describe("billing-ops console", () => {
  it("runs in the foreground until Ctrl-C, then exits 0", async () => {
    const controller = new AbortController();
    let port: number | undefined;
    const running = runOps(["console"], env(), {
      signal: controller.signal,
      onErr: (text) => {
        const found = /listening on http:\/\/localhost:(\d+)\//.exec(text);
        if (found !== null) port = Number(found[1]);
      },
    });
    const deadline = Date.now() + 10_000;
    while (port === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(port).toBeDefined();
    const page = await call(`http://127.0.0.1:${port}`, "/", { auth });
    expect(page.status).toBe(200);
    expect(page.text).toContain("signed in as <strong>oncall</strong>");
    controller.abort();
    const run = await running;
    expect(run.code).toBe(0);
    expect(run.out).toBe("console stopped\n");
  });

  it("exits 1 with one line when CONSOLE_USERS is missing", async () => {
    const run = await runOps(["console"], env({ CONSOLE_USERS: "" }));
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      "billing-ops console: invalid configuration: CONSOLE_USERS: required by console (name:token,…; a token may be sha256=<hex>)\n",
    );
  });
});
