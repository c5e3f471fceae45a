import { describe, expect, it } from "vitest";
import { createInFlight } from "../../lib/amqp/in-flight.ts";

// stop() relies on this: it must see work that is still running, and never wait past its bound.
describe("createInFlight", () => {
  it("counts tracked work and resolves drained once it ends", async () => {
    const inFlight = createInFlight();
    let finish: () => void = () => undefined;
    const work = inFlight.track(() => new Promise<void>((resolve) => (finish = resolve)));
    expect(inFlight.count()).toBe(1);
    const drained = inFlight.drained(5000);
    finish();
    await work;
    expect(await drained).toBe(true);
    expect(inFlight.count()).toBe(0);
    expect(await inFlight.drained(0)).toBe(true);
  });

  it("gives up after the bound, and counts failed work as ended", async () => {
    const inFlight = createInFlight();
    let fail: (e: Error) => void = () => undefined;
    const work = inFlight.track(() => new Promise<void>((_, reject) => (fail = reject)));
    expect(await inFlight.drained(20)).toBe(false);
    fail(new Error("x"));
    await expect(work).rejects.toThrow("x");
    expect(inFlight.count()).toBe(0);
  });
});
