import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { registry } from "../../lib/metrics/registry.ts";
import { exportedMetricNames, metricNames } from "./promql-metrics.ts";

// The dashboard loads in Grafana and every query reads a metric the fleet really exports.

interface Panel {
  type: string;
  title: string;
  id: number;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string }[];
  panels?: Panel[];
}

const load = async () =>
  JSON.parse(await readFile(new URL("../../ops/grafana/billing.json", import.meta.url), "utf8")) as {
    title: string;
    uid: string;
    schemaVersion: number;
    panels: Panel[];
  };

describe("ops/grafana/billing.json", () => {
  it("is a dashboard: title, uid, schema version, panels with unique ids inside the 24-column grid", async () => {
    const dashboard = await load();
    expect(dashboard.title).toBe("billing-fleet");
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(30);
    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const panel of panels) {
      expect(panel.title, String(panel.id)).toBeTruthy();
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      if (panel.type === "row") continue;
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
    }
  });

  it("queries only metrics the fleet exports", async () => {
    const exported = await exportedMetricNames();
    const seen = new Set<string>();
    for (const panel of (await load()).panels) {
      for (const target of panel.targets ?? []) {
        const names = metricNames(target.expr);
        expect(names.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
        for (const name of names) {
          expect(exported, `${panel.title} names ${name}`).toContain(name);
          seen.add(name);
        }
      }
    }
    // Every billing metric has a place on the dashboard.
    const ours = (await registry.getMetricsAsJSON())
      .map((m) => m.name)
      .filter((n) => n.startsWith("billing_"));
    const shown = (base: string) => [...seen].some((n) => n === base || n.startsWith(`${base}_`));
    expect(ours.filter((base) => !shown(base))).toEqual([]);
  });
});
