import { describe, expect, it } from "vitest";
import {
  errorCode,
  errorKind,
  errorMessage,
  PermanentError,
  TransientError,
} from "../../lib/domain/errors.ts";

// The consumer acts on an error's kind: an unknown throw must count as transient (retry), never
// as permanent (which would dead-letter a message that could still apply).
describe("error kinds", () => {
  it("carry kind, code, message and retry-after", () => {
    const permanent = new PermanentError("invalid_event", "no amount");
    const transient = new TransientError("stripe_rate_limited", "slow down", { retryAfterMs: 2000 });
    expect([permanent.kind, permanent.code, permanent.message, permanent.name]).toEqual([
      "permanent",
      "invalid_event",
      "no amount",
      "PermanentError",
    ]);
    expect([transient.kind, transient.code, transient.retryAfterMs]).toEqual([
      "transient",
      "stripe_rate_limited",
      2000,
    ]);
    expect(new TransientError("deadlock", "x").retryAfterMs).toBeUndefined();
  });

  it("treat anything else as transient and unexpected", () => {
    expect(errorKind(new PermanentError("unknown_account", "x"))).toBe("permanent");
    expect(errorKind(new Error("boom"))).toBe("transient");
    expect(errorKind("string")).toBe("transient");
    expect(errorCode(new TransientError("deadlock", "x"))).toBe("deadlock");
    expect(errorCode(new Error("boom"))).toBe("unexpected");
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage(42)).toBe("42");
  });
});
