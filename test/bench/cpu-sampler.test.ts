import { describe, expect, it } from "vitest";
import { cpuTicks, formatShares, groupOf, sampleCpu } from "../../ops/bench/cpu-sampler.ts";

describe("cpu sampler", () => {
  // A command name may hold spaces and parentheses: fields are counted from the last ")".
  it("reads utime + stime and the parent from a /proc stat line", () => {
    const line = "4242 (node (worker) x) S 4200 4242 1 0 -1 4194304 100 0 0 0 1234 566 0 0 20 0 12 0 99 0 0";
    expect(cpuTicks(line)).toEqual({ comm: "node (worker) x", ppid: 4200, ticks: 1800, startTime: 99 });
    expect(cpuTicks("garbage")).toBeUndefined();
  });

  // Our children by label (and what they spawn), the brokers by name, the rest as "other".
  it("groups processes", () => {
    const labels = new Map([[10, "web"]]);
    expect(groupOf("node", labels, 10, 1)).toBe("web");
    expect(groupOf("esbuild", labels, 11, 10)).toBe("web");
    expect(groupOf("beam.smp", labels, 12, 1)).toBe("rabbitmq");
    expect(groupOf("postgres", labels, 13, 1)).toBe("postgres");
    expect(groupOf("wrk", labels, 14, 1)).toBe("wrk");
    expect(groupOf("vitest", labels, 15, 1)).toBe("other");
  });

  it("formats the biggest shares first, dropping the negligible", () => {
    expect(formatShares({ web: 0.9, rabbitmq: 0.61, other: 0.01 })).toBe("web 0.90 · rabbitmq 0.61");
  });

  // What this process burns shows up under "bench", as much as its own cpuUsage says (the
  // machine may be busy, so the share itself is not fixed).
  it("measures a busy process", async () => {
    const before = process.cpuUsage();
    const startedAt = performance.now();
    const sampler = sampleCpu(new Map(), 50);
    const until = Date.now() + 400;
    while (Date.now() < until) Math.sqrt(Math.random());
    await new Promise((resolve) => setTimeout(resolve, 60));
    const shares = sampler.stop();
    const used = process.cpuUsage(before);
    const expected = (used.user + used.system) / 1e6 / ((performance.now() - startedAt) / 1000);
    expect(shares.bench ?? 0).toBeGreaterThan(0);
    expect(Math.abs((shares.bench ?? 0) - expected)).toBeLessThan(0.25);
  });
});
