import { describe, expect, it } from "vitest";
import { parsePrometheusText, sumSamples } from "../../lib/ops/prometheus-text.ts";

describe("Prometheus text", () => {
  // The summary's "duplicates absorbed" is the sum over both workers and every label.
  it("parses samples and sums them by name and labels", () => {
    const text = [
      "# HELP billing_messages_duplicate_total x",
      "# TYPE billing_messages_duplicate_total counter",
      'billing_messages_duplicate_total{type="payment_intent.succeeded"} 3',
      'billing_messages_duplicate_total{type="customer.created"} 2',
      'billing_http_requests_total{route="/webhooks/stripe",status="200"} 10',
      'weird{label="a \\"quoted\\" value"} 1',
      "untyped 4.5",
    ].join("\n");
    const samples = parsePrometheusText(text);
    expect(sumSamples(samples, "billing_messages_duplicate_total")).toBe(5);
    expect(sumSamples(samples, "billing_messages_duplicate_total", { type: "customer.created" })).toBe(2);
    expect(sumSamples(samples, "billing_http_requests_total", { status: "500" })).toBe(0);
    expect(samples.find((s) => s.name === "weird")?.labels.label).toBe('a "quoted" value');
    expect(sumSamples(samples, "untyped")).toBe(4.5);
  });
});
