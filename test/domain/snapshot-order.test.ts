import { describe, expect, it } from "vitest";
import {
  compareSnapshots,
  machines,
  type SnapshotKey,
  shouldReplace,
} from "../../lib/domain/snapshot-order.ts";
import type { StateMachine } from "../../lib/domain/state-machine.ts";
import { mulberry32, permutations, shuffled } from "./random.ts";

// The Contract's forward-only rule. The stored snapshot must be a function of the SET of events
// seen: whatever the arrival order, duplicates included, every worker ends in the same state.

type Key = SnapshotKey<string>;
// The tests handle the machines with plain string statuses, as events deliver them.
const loose = machines as unknown as Record<"payment" | "subscription" | "invoice", StateMachine<string>>;
const all = [loose.payment, loose.subscription, loose.invoice];

/** What a worker does with each event: keep the incoming snapshot when the rule says so. */
function applyAll(machine: StateMachine<string>, events: readonly Key[]): Key | undefined {
  let current: Key | undefined;
  for (const event of events) if (shouldReplace(machine, current, event)) current = event;
  return current;
}

const key = (status: string, eventCreated: number, eventId: string): Key => ({
  status,
  eventCreated,
  eventId,
});

describe("shouldReplace: the rules, by example", () => {
  const { subscription, invoice, payment } = loose;
  it.each<[string, StateMachine<string>, Key | undefined, Key, boolean]>([
    ["anything replaces nothing", invoice, undefined, key("draft", 1, "evt_a"), true],
    [
      "a newer snapshot replaces an older one",
      invoice,
      key("draft", 1, "evt_a"),
      key("open", 2, "evt_b"),
      true,
    ],
    [
      "an older snapshot never replaces a newer one",
      invoice,
      key("open", 2, "evt_b"),
      key("draft", 1, "evt_a"),
      false,
    ],
    [
      "newer wins even when it moves back in progress",
      subscription,
      key("past_due", 10, "evt_a"),
      key("active", 11, "evt_b"),
      true,
    ],
    [
      "an older progress-later snapshot does not win",
      subscription,
      key("active", 11, "evt_b"),
      key("past_due", 10, "evt_a"),
      false,
    ],
    [
      "a terminal state is never left",
      subscription,
      key("canceled", 5, "evt_a"),
      key("active", 9, "evt_b"),
      false,
    ],
    [
      "a terminal state replaces a newer live one",
      subscription,
      key("active", 9, "evt_b"),
      key("canceled", 5, "evt_a"),
      true,
    ],
    [
      "a newer terminal snapshot refreshes a terminal one",
      invoice,
      key("paid", 5, "evt_a"),
      key("paid", 6, "evt_b"),
      true,
    ],
    ["an older terminal snapshot does not", invoice, key("paid", 6, "evt_b"), key("paid", 5, "evt_a"), false],
    [
      "same second: more progress wins",
      invoice,
      key("open", 5, "evt_z"),
      key("uncollectible", 5, "evt_a"),
      true,
    ],
    [
      "same second: less progress loses",
      invoice,
      key("uncollectible", 5, "evt_a"),
      key("open", 5, "evt_z"),
      false,
    ],
    [
      "same second and status: the larger id wins",
      payment,
      key("processing", 5, "evt_a"),
      key("processing", 5, "evt_b"),
      true,
    ],
    [
      "same second and status: the smaller id loses",
      payment,
      key("processing", 5, "evt_b"),
      key("processing", 5, "evt_a"),
      false,
    ],
    [
      "the same event again changes nothing",
      payment,
      key("succeeded", 5, "evt_a"),
      key("succeeded", 5, "evt_a"),
      false,
    ],
    [
      "ids compare by code unit, not locale",
      payment,
      key("failed", 5, "evt_a"),
      key("failed", 5, "evt_B"),
      false,
    ],
  ])("%s", (_, machine, current, incoming, expected) => {
    expect(shouldReplace(machine, current, incoming)).toBe(expected);
  });
});

describe.each(all.map((m) => [m.name, m] as const))(
  "%s snapshots: exhaustive over all status pairs",
  (_, machine) => {
    const keys: Key[] = machine.statuses.flatMap((status) =>
      [100, 101, 102].flatMap((created) => ["evt_1", "evt_2"].map((id) => key(status, created, id))),
    );

    it("follows (terminal, eventCreated, rank, eventId) for every pair of keys", () => {
      for (const current of keys) {
        for (const incoming of keys) {
          const tuple = (k: Key) => [
            Number(machine.isTerminal(k.status)),
            k.eventCreated,
            machine.rank[k.status],
            k.eventId,
          ];
          const [a, b] = [tuple(incoming), tuple(current)];
          const index = a.findIndex((value, i) => value !== b[i]);
          const greater = index >= 0 && (a[index] as number | string) > (b[index] as number | string);
          expect(
            shouldReplace(machine, current, incoming),
            `${JSON.stringify(current)} ← ${JSON.stringify(incoming)}`,
          ).toBe(greater);
        }
      }
    });

    // Terminal is absorbing: no non-terminal snapshot, however new, ever replaces a terminal one.
    it("never leaves a terminal status", () => {
      for (const current of keys.filter((k) => machine.isTerminal(k.status))) {
        for (const incoming of keys.filter((k) => !machine.isTerminal(k.status))) {
          expect(
            shouldReplace(machine, current, { ...incoming, eventCreated: current.eventCreated + 1000 }),
          ).toBe(false);
        }
      }
    });

    // A total order: irreflexive, antisymmetric and transitive, so the maximum of a set is unique.
    it("is a strict total order", () => {
      for (const a of keys) {
        expect(compareSnapshots(machine, a, a)).toBe(0);
        for (const b of keys) {
          if (a === b) continue;
          expect(shouldReplace(machine, a, b)).not.toBe(shouldReplace(machine, b, a));
          expect(Math.sign(compareSnapshots(machine, a, b))).toBe(
            -Math.sign(compareSnapshots(machine, b, a)),
          );
          for (const c of keys) {
            if (compareSnapshots(machine, a, b) < 0 && compareSnapshots(machine, b, c) < 0) {
              expect(compareSnapshots(machine, a, c)).toBeLessThan(0);
            }
          }
        }
      }
    });

    it("refuses keys the order cannot place", () => {
      const good = key(machine.statuses[0] as string, 1, "evt_1");
      for (const bad of [
        key("nope", 1, "evt_1"),
        key(good.status, -1, "evt_1"),
        key(good.status, 1.5, "evt_1"),
        key(good.status, 1, ""),
      ]) {
        expect(() => shouldReplace(machine, undefined, bad)).toThrow(RangeError);
        expect(() => shouldReplace(machine, good, bad)).toThrow(RangeError);
        expect(() => shouldReplace(machine, bad, good)).toThrow(RangeError);
      }
    });
  },
);

/** A plausible history: a walk along Stripe's transitions with non-decreasing event.created. */
function realisticHistory(machine: StateMachine<string>, random: () => number, serial: { n: number }): Key[] {
  const randomId = () => `evt_${Math.floor(random() * 2 ** 32).toString(36)}_${serial.n++}`;
  let status = machine.statuses[Math.floor(random() * 2)] as string;
  if (machine.isTerminal(status)) status = machine.statuses[0] as string;
  let created = 1_700_000_000;
  const history = [key(status, created, randomId())];
  const length = 1 + Math.floor(random() * 8);
  while (history.length < length && !machine.isTerminal(status)) {
    const options = machine.transitions.filter(([from]) => from === status).map(([, to]) => to);
    // sometimes an update that keeps the status (e.g. cancel_at_period_end set)
    const next = random() < 0.2 ? status : (options[Math.floor(random() * options.length)] as string);
    let step = Math.floor(random() * 3);
    // within one second Stripe's order is unknowable: only a move up in rank can share a second
    if (step === 0 && (machine.rank[next] as number) <= (machine.rank[status] as number)) step = 1;
    created += step;
    status = next;
    history.push(key(status, created, randomId()));
  }
  return history;
}

describe.each(all.map((m) => [m.name, m] as const))(
  "%s snapshots: randomized arrival order",
  (_, machine) => {
    it("ends in the in-order state (the last event) for shuffled histories with duplicates", () => {
      for (let seed = 1; seed <= 2000; seed++) {
        const random = mulberry32(seed);
        const history = realisticHistory(machine, random, { n: 0 });
        const inOrder = applyAll(machine, history);
        expect(inOrder, `seed ${seed}`).toEqual(history.at(-1));
        const duplicates = history.filter(() => random() < 0.3);
        const arrivals = shuffled([...history, ...duplicates, ...duplicates], random);
        expect(applyAll(machine, arrivals), `seed ${seed}`).toEqual(inOrder);
      }
    });

    // Even for sets no real history produces (same-second ping-pong), the result depends only on the set.
    it("depends only on the set of events, for arbitrary sets", () => {
      for (let seed = 1; seed <= 1000; seed++) {
        const random = mulberry32(seed * 7919);
        const events = Array.from({ length: 1 + Math.floor(random() * 10) }, (_, i) =>
          key(
            machine.statuses[Math.floor(random() * machine.statuses.length)] as string,
            100 + Math.floor(random() * 3),
            `evt_${Math.floor(random() * 5)}${i}`,
          ),
        );
        const reference = applyAll(machine, events);
        for (let round = 0; round < 5; round++) {
          const arrivals = shuffled([...events, ...events.filter(() => random() < 0.5)], random);
          expect(applyAll(machine, arrivals), `seed ${seed}`).toEqual(reference);
        }
      }
    });
  },
);

describe("every permutation of 4-event histories ends as the in-order history", () => {
  const { subscription: s, invoice: i, payment: p } = loose;
  it.each<[string, StateMachine<string>, Key[], string]>([
    [
      "subscription created incomplete → trialing → active → canceled",
      s,
      [
        key("incomplete", 100, "evt_s1"),
        key("trialing", 101, "evt_s2"),
        key("active", 200, "evt_s3"),
        key("canceled", 300, "evt_s4"),
      ],
      "canceled",
    ],
    [
      "subscription with same-second ties (created and activated; cancel and delete)",
      s,
      [
        key("incomplete", 100, "evt_z9"),
        key("active", 100, "evt_a1"),
        key("active", 150, "evt_m5"),
        key("canceled", 150, "evt_b2"),
      ],
      "canceled",
    ],
    [
      "subscription that fell past due and recovered",
      s,
      [
        key("trialing", 100, "evt_t1"),
        key("active", 200, "evt_t2"),
        key("past_due", 300, "evt_t3"),
        key("active", 400, "evt_t4"),
      ],
      "active",
    ],
    [
      "subscription that expired incomplete (terminal reached early, later noise ignored)",
      s,
      [
        key("incomplete", 100, "evt_e1"),
        key("incomplete", 101, "evt_e2"),
        key("incomplete_expired", 200, "evt_e3"),
        key("incomplete_expired", 201, "evt_e4"),
      ],
      "incomplete_expired",
    ],
    [
      "invoice draft → open → paid, finalized and paid in one second",
      i,
      [
        key("draft", 100, "evt_i4"),
        key("open", 105, "evt_i3"),
        key("paid", 105, "evt_i2"),
        key("paid", 105, "evt_i1"),
      ],
      "paid",
    ],
    [
      "invoice draft → open → uncollectible → void",
      i,
      [
        key("draft", 100, "evt_v1"),
        key("open", 100, "evt_v2"),
        key("uncollectible", 200, "evt_v3"),
        key("void", 300, "evt_v4"),
      ],
      "void",
    ],
    [
      "invoice paid after a failed attempt left it open",
      i,
      [
        key("open", 100, "evt_o1"),
        key("open", 160, "evt_o2"),
        key("uncollectible", 170, "evt_o3"),
        key("paid", 170, "evt_o4"),
      ],
      "paid",
    ],
    [
      "payment failed once, then succeeded",
      p,
      [
        key("requires_payment_method", 100, "evt_p1"),
        key("failed", 101, "evt_p2"),
        key("processing", 102, "evt_p3"),
        key("succeeded", 102, "evt_p4"),
      ],
      "succeeded",
    ],
  ])("%s", (_, machine, history, finalStatus) => {
    const inOrder = applyAll(machine, history);
    expect(inOrder?.status).toBe(finalStatus);
    let count = 0;
    for (const order of permutations(history)) {
      expect(applyAll(machine, order)).toEqual(inOrder);
      count++;
    }
    expect(count).toBe(24);
  });
});

describe("machines", () => {
  it("bundles the three state machines by name", () => {
    expect(Object.keys(machines)).toEqual(["payment", "subscription", "invoice"]);
    for (const [name, machine] of Object.entries(machines)) {
      expect(machine.name).toBe(name);
      expect(machine.statuses.length).toBeGreaterThan(0);
      expect(machine.terminal.size).toBeGreaterThan(0);
      expect(Object.keys(machine.rank).length).toBe(machine.statuses.length);
      expect(machine.transitions.length).toBeGreaterThan(0);
    }
  });
});
