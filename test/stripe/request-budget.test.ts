import { describe, expect, it } from "vitest";
import { createRequestBudget } from "../../lib/stripe/request-budget.ts";

// One budget per process: the rate holds for every caller together, commands go before background
// calls, a 429's pause holds everyone, and an aborted wait gives its place up.

describe("createRequestBudget", () => {
  it("grants a burst, then paces at the rate", async () => {
    const budget = createRequestBudget(20); // burst 20
    const started = performance.now();
    await Promise.all(Array.from({ length: 30 }, () => budget.acquire("command")));
    const elapsed = performance.now() - started;
    // 10 beyond the burst at 20/s: about 500 ms
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(1500);
  });

  it("serves waiting commands before waiting background calls, and keeps a reserve for them", async () => {
    const budget = createRequestBudget(10); // burst 10, reserve 5
    const order: string[] = [];
    const background = Array.from({ length: 8 }, (_, i) =>
      budget.acquire("background").then(() => order.push(`b${i}`)),
    );
    // Background took what lies above the reserve (5 of 10) and waits for the rest.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual(["b0", "b1", "b2", "b3", "b4"]);
    expect(budget.waiting()).toEqual({ command: 0, background: 3 });
    // Commands now find the reserve at once (without it, three would wait ~300 ms for refills).
    const commandsAt = performance.now();
    await Promise.all([1, 2, 3].map((i) => budget.acquire("command").then(() => order.push(`c${i}`))));
    expect(performance.now() - commandsAt).toBeLessThan(250);
    await Promise.all(background);
    expect(order.slice(5, 8)).toEqual(["c1", "c2", "c3"]);
    expect(order.slice(8)).toEqual(["b5", "b6", "b7"]);
  });

  it("holds every call while paused (a 429), and a shorter pause does not shorten it", async () => {
    const budget = createRequestBudget(100);
    budget.pause(300);
    budget.pause(50);
    budget.pause(0);
    const started = performance.now();
    await Promise.all([budget.acquire("command"), budget.acquire("background")]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("rejects an aborted wait and gives its place to the next", async () => {
    const budget = createRequestBudget(1); // burst 1, no reserve
    await budget.acquire("background");
    const abort = new AbortController();
    const first = budget.acquire("background", abort.signal);
    const second = budget.acquire("background");
    abort.abort(new Error("stopping"));
    await expect(first).rejects.toThrow("stopping");
    expect(budget.waiting().background).toBe(1);
    const started = performance.now();
    await second;
    expect(performance.now() - started).toBeLessThan(1100);
    await expect(budget.acquire("command", abort.signal)).rejects.toThrow("stopping");
  });
});
