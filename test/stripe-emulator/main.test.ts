import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { readEmulatorConfig, UsageError } from "../../ops/stripe-emulator/config.ts";

const mainPath = fileURLToPath(new URL("../../ops/stripe-emulator/main.ts", import.meta.url));

describe("readEmulatorConfig", () => {
  it("defaults to port 12111 on 127.0.0.1 with webhooks sent in order", () => {
    expect(readEmulatorConfig([], {})).toMatchObject({
      port: 12111,
      host: "127.0.0.1",
      delivery: {},
      faults: {},
    });
  });

  it("reads the environment, and flags win over it", () => {
    const config = readEmulatorConfig(
      ["--port", "0", "--duplicates", "0.1", "--reorder", "5", "--delay", "10-50"],
      {
        STRIPE_EMULATOR_PORT: "9999",
        STRIPE_EMULATOR_WEBHOOK_URL: "http://127.0.0.1:8080/webhooks/stripe",
        STRIPE_WEBHOOK_SECRET: "whsec_new,whsec_old",
        STRIPE_EMULATOR_CONCURRENCY: "16",
      },
    );
    expect(config).toMatchObject({
      port: 0,
      webhookUrl: "http://127.0.0.1:8080/webhooks/stripe",
      webhookSecret: "whsec_new",
      delivery: { duplicateRate: 0.1, reorderWindow: 5, delayMs: [10, 50], concurrency: 16 },
    });
  });

  it("reads the drop rate and the bad-answer statuses", () => {
    const config = readEmulatorConfig(
      ["--drop", "0.05", "--fail-rate", "0.1", "--fail-status", "malformed"],
      {},
    );
    expect(config).toMatchObject({
      delivery: { dropRate: 0.05 },
      faults: { failRate: 0.1, failRateStatus: "malformed" },
    });
    expect(readEmulatorConfig([], { STRIPE_EMULATOR_DROP: "0.2" })).toMatchObject({
      delivery: { dropRate: 0.2 },
    });
    expect(readEmulatorConfig(["--fail-status", "hang"], {})).toMatchObject({
      faults: { failRateStatus: "hang" },
    });
  });

  // A bad value stops the process with one line naming it.
  it.each([
    [["--duplicates", "2"], {}, /duplicateRate/],
    [["--port", "http"], {}, /--port/],
    [[], { STRIPE_WEBHOOK_SECRET: "nope" }, /STRIPE_WEBHOOK_SECRET/],
    [["--delay", "fast"], {}, /--delay/],
    [["--fail-status", "418"], {}, /failRateStatus/],
    [["--fail-status", "garbled"], {}, /failRateStatus/],
    [["--drop", "1.5"], {}, /dropRate/],
    [["--unknown"], {}, /unknown/i],
  ])("refuses %j %j", (argv, env, message) => {
    expect(() => readEmulatorConfig(argv, env)).toThrow(UsageError);
    expect(() => readEmulatorConfig(argv, env)).toThrow(message);
  });
});

describe("npm run stripe-emulator", () => {
  // The demo starts it as a process: one line with the URL, a working API, a clean stop on SIGTERM.
  it("logs its URL, serves the API and exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", mainPath, "--port", "0"], {
      env: { ...process.env, STRIPE_EMULATOR_PORT: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    const exited = once(child, "exit");
    try {
      const url = await new Promise<URL>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start line: ${output}`)), 10_000);
        child.stdout.on("data", () => {
          const match = /listening on (http:\/\/\S+)/.exec(output);
          if (match?.[1] !== undefined) {
            clearTimeout(timer);
            resolve(new URL(match[1]));
          }
        });
      });
      const stripe = new Stripe("sk_test_main", {
        host: url.hostname,
        port: Number(url.port),
        protocol: "http",
        maxNetworkRetries: 0,
      });
      await expect(stripe.customers.create({})).resolves.toMatchObject({ object: "customer" });
      child.kill("SIGTERM");
      const [code] = await exited;
      expect(code).toBe(0);
      expect(output).toMatch(/stripe-emulator stopped/);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("exits 2 with one line on a usage error", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", mainPath, "--reorder=-1"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let errors = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      errors += chunk;
    });
    const [code] = await once(child, "exit");
    expect(code).toBe(2);
    expect(errors.trim().split("\n")).toHaveLength(1);
    expect(errors).toMatch(/reorderWindow/);
  });
});
