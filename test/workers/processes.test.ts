import { describe, expect, it } from "vitest";
import { testSecrets } from "../helpers/config.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { spawnScript } from "../helpers/spawn.ts";

const services = useTestServices();

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: services.database.url,
    AMQP_URL: services.vhost.url,
    PORT: "0",
    METRICS_PORT: "0",
    STRIPE_WEBHOOK_SECRET: testSecrets.webhookSecret,
    STRIPE_SECRET_KEY: testSecrets.stripeKey,
    ...extra,
  };
}

describe("a process with a bad variable", () => {
  // Operators get one line naming the variable, and a non-zero exit, never a stack trace.
  it.each([
    ["workers/worker.ts", { DATABASE_URL: "not-a-url" }, "DATABASE_URL"],
    ["workers/web.ts", { PORT: "abc" }, "PORT"],
    ["workers/web.ts", { STRIPE_WEBHOOK_SECRET: "" }, "STRIPE_WEBHOOK_SECRET"],
    ["workers/relay.ts", { AMQP_URL: "nope" }, "AMQP_URL"],
    ["workers/worker.ts", { AMQP_URL: "nope" }, "AMQP_URL"],
    ["workers/web.ts", { AMQP_URL: "nope" }, "AMQP_URL"],
    ["workers/release.ts", { AMQP_URL: "nope" }, "AMQP_URL"],
    ["workers/reconciler.ts", { RECONCILE_INTERVAL_S: "0" }, "RECONCILE_INTERVAL_S"],
  ])("%s with %j exits 1 with one line naming %s", async (script, bad, variable) => {
    const child = spawnScript(script, env(bad));
    expect(await child.exited).toBe(1);
    const lines = child.output().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(lines[0]).not.toMatch(/\bat .*\.ts:\d+/);
  });
});

describe("SIGTERM", () => {
  // A deploy sends SIGTERM: every long-running process must exit 0 within 5 s.
  it.each([
    ["workers/web.ts", "ingester listening"],
    ["workers/worker.ts", "connected to RabbitMQ"],
    ["workers/relay.ts", "connected to RabbitMQ"],
    // Stripe is a closed port here: its first pass retries with backoff until the signal comes
    ["workers/reconciler.ts", "reconciler started"],
  ])("%s exits 0 within 5 s", async (script, ready) => {
    const child = spawnScript(script, env({ STRIPE_API_URL: "http://127.0.0.1:9" }));
    await child.waitForOutput(ready);
    const sent = Date.now();
    child.child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    expect(Date.now() - sent).toBeLessThan(5000);
  });
});

describe("release", () => {
  // release is idempotent: run twice, both succeed.
  it("creates what is missing and is idempotent", async () => {
    for (let i = 0; i < 2; i += 1) {
      const child = spawnScript("workers/release.ts", env());
      expect(await child.exited, child.output()).toBe(0);
    }
  });
});
