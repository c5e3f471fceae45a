import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { startHealthServer } from "../../lib/metrics/health-server.ts";
import { httpRequests, messagesAcked } from "../../lib/metrics/registry.ts";
import { countersOf, rateOf, startMetricsScraper } from "../../lib/ops/metrics-scraper.ts";
import { parsePrometheusText } from "../../lib/ops/prometheus-text.ts";
import { waitFor } from "../helpers/wait.ts";

describe("rates from counters", () => {
  const at = (seconds: number, acked: number) => ({
    at: seconds * 1000,
    acked,
    accepted: 0,
    deadLettered: 0,
  });

  // A rate needs two readings; a process that restarted (counter fell) counts from zero again.
  it.each([
    [[], null],
    [[at(0, 5)], null],
    [[at(0, 5), at(10, 25)], 2],
    [[at(0, 100), at(5, 110), at(10, 4)], 1.4],
    [[at(0, 7), at(0, 9)], null],
  ])("%j → %s per second", (readings, expected) => {
    expect(rateOf(readings, (c) => c.acked)).toBe(expected);
  });

  it("sums acked, accepted (2xx only) and dead-lettered over every label", () => {
    const samples = parsePrometheusText(
      [
        'billing_messages_acked_total{type="a"} 3',
        'billing_messages_acked_total{type="b"} 4',
        'billing_http_requests_total{route="/webhooks/stripe",status="200"} 10',
        'billing_http_requests_total{route="/v1/commands",status="202"} 5',
        'billing_http_requests_total{route="/webhooks/stripe",status="400"} 99',
        'billing_messages_dead_lettered_total{type="a",code="x",kind="permanent"} 2',
      ].join("\n"),
    );
    expect(countersOf(samples, 1)).toEqual({ at: 1, acked: 7, accepted: 15, deadLettered: 2 });
  });
});

describe("the scraper", () => {
  // Readiness and rates of a real process's health server; one that does not answer is named so.
  it("reads /readyz and /metrics of each target, and says which one does not answer", async () => {
    let ready = true;
    const health = await startHealthServer({ port: 0, host: "127.0.0.1", isReady: () => ready });
    const scraper = startMetricsScraper(
      [
        { name: "worker-1", url: `http://127.0.0.1:${health.port}` },
        { name: "gone", url: "http://127.0.0.1:1" },
      ],
      { intervalMs: 100, timeoutMs: 1000 },
    );
    try {
      const reading = (name: string) => scraper.readings().find((r) => r.name === name);
      await waitFor(() => reading("worker-1")?.ready === true, "worker-1 read");
      for (let i = 0; i < 5; i += 1) {
        messagesAcked.inc({ type: "t" }, 20);
        httpRequests.inc({ route: "/webhooks/stripe", status: "200" }, 10);
        await sleep(60);
      }
      await waitFor(() => (reading("worker-1")?.applyRate ?? 0) > 0, "an apply rate");
      expect(reading("worker-1")?.ingestRate).toBeGreaterThan(0);
      expect(reading("worker-1")?.error).toBeNull();
      expect(reading("gone")).toMatchObject({ ready: null, applyRate: null });
      expect(reading("gone")?.error).toMatch(/fetch failed|ECONNREFUSED/);
      ready = false;
      await waitFor(() => reading("worker-1")?.ready === false, "worker-1 not ready");
    } finally {
      await scraper.stop();
      await health.close();
    }
  });
});
