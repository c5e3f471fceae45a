import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { closeAll, type Host, once, runOnce, runProcess } from "../lib/lifecycle.ts";

// A stand-in for `process`: records exits and lets the test send signals.
function fakeHost(env: Record<string, string>) {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  const errors: string[] = [];
  let exited: (code: number) => void = () => {};
  const exitedOnce = new Promise<number>((resolve) => {
    exited = resolve;
  });
  const host: Host = {
    env: { LOG_LEVEL: "silent", STRIPE_SECRET_KEY: "sk_test_x", ...env },
    stderr: { write: (t: string) => errors.push(t) },
    exit: (code: number) => {
      exits.push(code);
      exited(code);
    },
    on: (event: string, listener: (arg: never) => void) =>
      emitter.on(event, listener as (arg: unknown) => void),
  };
  return { host, emitter, exits, errors, exitedOnce };
}

describe("runProcess", () => {
  it("exits 1 with one line naming a bad variable", async () => {
    const { host, exits, errors } = fakeHost({ PORT: "abc" });
    await runProcess("worker", async () => ({ stop: async () => {} }), host);
    expect(exits).toEqual([1]);
    expect(errors).toEqual([
      'billing-fleet worker: invalid configuration: PORT: not a whole number: "abc"\n',
    ]);
  });

  it("stops on SIGTERM and exits 0; a second signal forces exit 1", async () => {
    const { host, emitter, exits, exitedOnce } = fakeHost({});
    let stopped = 0;
    let release: () => void = () => {};
    const slowStop = new Promise<void>((r) => {
      release = r;
    });
    await runProcess(
      "relay",
      async () => ({
        stop: async () => {
          stopped += 1;
          await slowStop;
        },
      }),
      host,
    );
    emitter.emit("SIGTERM", "SIGTERM");
    emitter.emit("SIGINT", "SIGINT");
    expect(exits).toEqual([1]);
    release();
    await exitedOnce;
    await new Promise((r) => setTimeout(r, 10));
    expect(exits).toEqual([1, 0]);
    expect(stopped).toBe(1);
  });

  it("exits 1 when start fails or stop fails, and on an uncaught error", async () => {
    const failing = fakeHost({});
    await runProcess("relay", async () => Promise.reject(new Error("no")), failing.host);
    expect(failing.exits).toEqual([1]);

    const badStop = fakeHost({});
    await runProcess("relay", async () => ({ stop: () => Promise.reject(new Error("stuck")) }), badStop.host);
    badStop.emitter.emit("SIGTERM", "SIGTERM");
    expect(await badStop.exitedOnce).toBe(1);

    const crash = fakeHost({});
    await runProcess("relay", async () => ({ stop: async () => {} }), crash.host);
    crash.emitter.emit("uncaughtException", new Error("boom"));
    crash.emitter.emit("unhandledRejection", new Error("boom"));
    expect(crash.exits).toEqual([1, 1]);
  });
});

describe("runOnce", () => {
  it("exits 0 when the task succeeds, 1 with one line when it fails", async () => {
    const ok = fakeHost({});
    await runOnce("release", async () => {}, ok.host);
    expect(ok.exits).toEqual([0]);
    const bad = fakeHost({});
    await runOnce("release", async () => Promise.reject(new Error("database is gone")), bad.host);
    expect(bad.exits).toEqual([1]);
    expect(bad.errors).toEqual(["billing-fleet release: database is gone\n"]);
    const config = fakeHost({ AMQP_URL: "nope" });
    await runOnce("release", async () => {}, config.host);
    expect(config.exits).toEqual([1]);
  });
});

describe("once and closeAll", () => {
  // Shutdown is idempotent, and one failing cleanup does not skip the others.
  it("runs stop once and every cleanup even when one fails", async () => {
    let calls = 0;
    const stop = once(async () => {
      calls += 1;
    });
    await Promise.all([stop(), stop()]);
    expect(calls).toBe(1);
    const ran: string[] = [];
    await expect(
      closeAll([() => ran.push("a"), () => Promise.reject(new Error("b failed")), () => ran.push("c")]),
    ).rejects.toThrow("b failed");
    expect(ran).toEqual(["a", "c"]);
  });
});
