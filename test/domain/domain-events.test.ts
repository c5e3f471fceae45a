import { describe, expect, it } from "vitest";
import {
  domainEvent,
  domainEventId,
  domainEventTypes,
  isDomainEventType,
} from "../../lib/domain/domain-events.ts";

// Consumers of billing.events dedupe by event id: a redelivered source message must rebuild the
// same id, and different causes must never share one.

describe("domainEvent", () => {
  const input = {
    type: "balance.credited" as const,
    sourceId: "evt_3QxYz2LkdIwHu7ix1cD4eF5g",
    correlationId: "evt_3QxYz2LkdIwHu7ix1cD4eF5g",
    occurredAt: new Date("2025-10-09T08:53:25.000Z"),
    data: { accountId: "acct-42", amount: 2500, currency: "usd", balance: 2500 },
  };

  it("builds the Contract's body", () => {
    const event = domainEvent(input);
    expect(event).toEqual({
      id: expect.stringMatching(/^evt_billing_[0-9a-f]{32}$/),
      type: "balance.credited",
      occurredAt: "2025-10-09T08:53:25.000Z",
      correlationId: "evt_3QxYz2LkdIwHu7ix1cD4eF5g",
      data: { accountId: "acct-42", amount: 2500, currency: "usd", balance: 2500 },
    });
    expect(Object.keys(event)).toEqual(["id", "type", "occurredAt", "correlationId", "data"]);
  });

  it("gives the same id for the same source and type, whatever else differs", () => {
    const again = domainEvent({
      ...input,
      occurredAt: "2030-01-01T00:00:00Z",
      data: {},
      correlationId: "other",
    });
    expect(again.id).toBe(domainEvent(input).id);
    expect(again.occurredAt).toBe("2030-01-01T00:00:00.000Z");
  });

  it("gives different ids for different sources or types", () => {
    const ids = new Set([
      domainEventId("evt_1", "payment.succeeded"),
      domainEventId("evt_1", "balance.credited"),
      domainEventId("evt_2", "payment.succeeded"),
      // no ambiguity when a separator could move between the parts
      domainEventId("a:b", "command.failed"),
      domainEventId("a", "command.failed"),
      domainEventId("a:bcommand.failed", "command.failed"),
    ]);
    expect(ids.size).toBe(6);
  });

  it("is a fixed function (ids stay stable across releases)", () => {
    // sha256 of ["cmd-1","command.succeeded"] as JSON; changing it would re-emit every event under a new id
    expect(domainEventId("cmd-1", "command.succeeded")).toBe("evt_billing_fbaf8b80ab0ddd5a14edb2dcaaf7a36d");
  });

  it.each<[string, Record<string, unknown>]>([
    ["an unknown type", { type: "payment.exploded" }],
    ["an empty source", { sourceId: "" }],
    ["an empty correlation id", { correlationId: "" }],
    ["an invalid date", { occurredAt: "yesterday" }],
    ["an invalid Date", { occurredAt: new Date(Number.NaN) }],
  ])("refuses %s", (_, change) => {
    expect(() => domainEvent({ ...input, ...change } as typeof input)).toThrow(RangeError);
  });
});

describe("domainEventTypes", () => {
  it("lists the Contract's outbound events", () => {
    expect(domainEventTypes).toEqual([
      "payment.succeeded",
      "payment.failed",
      "balance.credited",
      "balance.debited",
      "subscription.created",
      "subscription.updated",
      "subscription.canceled",
      "invoice.paid",
      "invoice.payment_failed",
      "command.succeeded",
      "command.failed",
    ]);
    for (const type of domainEventTypes) expect(isDomainEventType(type)).toBe(true);
    for (const type of ["payment", "invoice.finalized", "", null, 1])
      expect(isDomainEventType(type)).toBe(false);
  });
});
