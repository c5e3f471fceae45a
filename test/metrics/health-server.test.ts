import { expect, it } from "vitest";
import { startHealthServer } from "../../lib/metrics/health-server.ts";

// Orchestrators rely on /healthz (alive) and /readyz (broker connected) meaning exactly that.
it("answers healthz, readyz by readiness, metrics, 404 and 405", async () => {
  let ready = false;
  const server = await startHealthServer({ port: 0, host: "127.0.0.1", isReady: () => ready });
  const base = `http://127.0.0.1:${server.port}`;
  try {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    expect(await metrics.text()).toContain("billing_messages_consumed_total");
    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: "POST" })).status).toBe(405);
  } finally {
    await server.close();
  }
});
