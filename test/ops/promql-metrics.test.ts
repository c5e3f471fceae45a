import { describe, expect, it } from "vitest";
import { exportedMetricNames, metricNames } from "./promql-metrics.ts";

// The metric check of alerts and dashboards is only as good as this extractor.
describe("metricNames", () => {
  it.each([
    [
      'sum by (status) (rate(billing_http_requests_total{status=~"5.."}[5m]))',
      ["billing_http_requests_total"],
    ],
    [
      "histogram_quantile(0.95, sum by (le, type) (rate(billing_handler_duration_seconds_bucket[$__rate_interval])))",
      ["billing_handler_duration_seconds_bucket"],
    ],
    ['max(x{queue="a b"}) < 1 or absent(y{queue="billing_queue"})', ["x", "y"]],
    ["a / on (instance) group_left(job) b offset 5m > 1e3 and bool c", ["a", "b", "c"]],
    ['changes(process_start_time_seconds{job=~"billing.*"}[15m]) > 2', ["process_start_time_seconds"]],
    ["sum without (instance) (up) * 100", ["up"]],
  ])("%s names %j", (expr, names) => {
    expect(metricNames(expr)).toEqual(names);
  });
});

describe("exportedMetricNames", () => {
  it("has our metrics, histogram suffixes and prom-client's default metrics", async () => {
    const names = await exportedMetricNames();
    for (const name of [
      "billing_payments_total",
      "billing_handler_duration_seconds_bucket",
      "billing_handler_duration_seconds_count",
      "process_cpu_seconds_total",
      "nodejs_eventloop_lag_p99_seconds",
    ]) {
      expect(names).toContain(name);
    }
    expect(names).not.toContain("billing_payments_total_bucket");
  });
});
