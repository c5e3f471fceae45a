import { describe, expect, it } from "vitest";
import { type DayFacts, dayChecks, renderSummary } from "../../ops/demo/summary.ts";

const healthy: DayFacts = {
  seconds: 21.5,
  accounts: 3,
  stripe: {
    emitted: 40,
    webhooksAccepted: 44,
    duplicatesDelivered: 4,
    deliveryFailures: 0,
    notApplied: [],
    applied: 40,
  },
  workers: { consumed: 90, duplicatesAbsorbed: 4, retried: 1, deadLettered: 1 },
  commands: {
    sentHttp: 10,
    sentAmqp: 8,
    resent: 1,
    succeeded: 15,
    failed: 2,
    failureCodes: { insufficient_funds: 2 },
    unexpected: [],
    conflict: "refused: command.failed with idempotency_conflict; the first outcome stands",
  },
  balances: {
    totals: { usd: 123456, eur: 500 },
    wrong: [],
    mismatchedLedger: [],
    negative: [],
    ledgerEntries: 12,
  },
  subscriptions: { byStatus: { active: 2, canceled: 1 }, wrong: [] },
  deadLetters: { parked: 1, expected: 1, errors: ["deposit.create: invalid"] },
  domainEvents: { outbox: 30, published: 30, received: 30, byType: { "payment.succeeded": 5 } },
  logDir: "/tmp/x",
};

describe("dayChecks", () => {
  it("passes a healthy day", () => {
    expect(dayChecks(healthy).every((c) => c.ok)).toBe(true);
  });

  // Each invariant on its own fails the demo (exit 1).
  it.each([
    ["balance ≠ ledger", { balances: { ...healthy.balances, mismatchedLedger: ["acct_1/usd 5 ≠ 4"] } }],
    ["negative balance", { balances: { ...healthy.balances, negative: ["acct_1/usd -5"] } }],
    ["event not applied", { stripe: { ...healthy.stripe, notApplied: ["evt_1 x"], applied: 39 } }],
    ["no event at all", { stripe: { ...healthy.stripe, emitted: 0, applied: 0 } }],
    ["balance off plan", { balances: { ...healthy.balances, wrong: ["acct_1 1 ≠ 2"] } }],
    ["command outcome off plan", { commands: { ...healthy.commands, unexpected: ["c1 succeeded"] } }],
    ["subscription off plan", { subscriptions: { ...healthy.subscriptions, wrong: ["sub_1"] } }],
    ["extra dead letter", { deadLetters: { ...healthy.deadLetters, parked: 2 } }],
    ["outbox not published", { domainEvents: { ...healthy.domainEvents, published: 29 } }],
  ] as const)("fails on %s", (_, change) => {
    const checks = dayChecks({ ...healthy, ...change } as DayFacts);
    expect(checks.filter((c) => !c.ok)).toHaveLength(1);
  });
});

describe("renderSummary", () => {
  it("shows the figures and the verdict", () => {
    const text = renderSummary(healthy, dayChecks(healthy));
    expect(text).toContain("5.00 EUR + 1234.56 USD");
    expect(text).toContain("duplicates absorbed by the inbox       4");
    expect(text).toContain("insufficient_funds 2");
    expect(text).toContain("All invariants hold.");
    const broken = { ...healthy, balances: { ...healthy.balances, negative: ["acct_1/usd -5"] } };
    expect(renderSummary(broken, dayChecks(broken))).toContain("INVARIANTS VIOLATED");
  });
});

// The lossy stretch: every webhook the emulator dropped must come back through the reconciler.
describe("the reconciler stretch", () => {
  const stretch = { dropRate: 0.05, dropped: 3, healed: 3, enqueued: 9, notHealed: [] };

  it("is checked and reported when it ran", () => {
    const facts: DayFacts = { ...healthy, reconciler: stretch };
    const checks = dayChecks(facts);
    expect(checks.at(-1)).toEqual({
      name: "every webhook the emulator dropped was healed by the reconciler",
      ok: true,
      detail: "3/3 dropped webhooks applied from GET /v1/events",
    });
    expect(renderSummary(facts, checks)).toContain(
      "webhooks lost (emulator drops 5%)      3  → healed by the reconciler: 3, each applied once (it enqueued 9 from GET /v1/events)",
    );
    expect(dayChecks(healthy).some((c) => c.name.includes("reconciler"))).toBe(false);
  });

  it.each([
    ["a dropped event not healed", { ...stretch, healed: 2, notHealed: ["evt_1 charge.refunded"] }],
    ["nothing dropped (the stretch did not happen)", { ...stretch, dropped: 0, healed: 0 }],
  ])("fails on %s", (_, reconciler) => {
    const checks = dayChecks({ ...healthy, reconciler });
    expect(checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
      "every webhook the emulator dropped was healed by the reconciler",
    ]);
  });
});
