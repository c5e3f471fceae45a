import { describe, expect, it } from "vitest";
import { parseWrkOutput } from "../../ops/bench/wrk.ts";

describe("parseWrkOutput", () => {
  // Accepted means 2xx: wrk counts non-2xx answers as completed requests, they must be taken off.
  it("reads webhooks.lua's result line, counting only 2xx as accepted", () => {
    const output = [
      "Running 8s test @ http://127.0.0.1:8080",
      'BENCH_JSON {"requests":40010,"duration_us":8000000,"connect_errors":0,"read_errors":1,"write_errors":0,' +
        '"status_errors":10,"timeouts":2,"p50_us":4200,"p99_us":18500,"max_us":40000}',
    ].join("\n");
    const result = parseWrkOutput(output, 50);
    expect(result).toMatchObject({
      connections: 50,
      requests: 40010,
      accepted: 40000,
      non2xx: 10,
      socketErrors: 3,
    });
    expect(result.acceptedPerS).toBe(5000);
    expect(result.p50Ms).toBe(4.2);
    expect(result.p99Ms).toBe(18.5);
  });

  it("fails loudly without a result line", () => {
    expect(() => parseWrkOutput("unable to connect", 1)).toThrow(/no result line/);
  });
});
