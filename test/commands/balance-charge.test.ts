import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../lib/db/database.ts";
import {
  balanceDrift,
  balanceOf,
  type CommandHarness,
  commandEvents,
  commandInbound,
  commandRow,
  fundAccount,
  startCommandHarness,
} from "./command-harness.ts";

// balance.charge is one conditional UPDATE plus a ledger entry: it debits only what is there, a
// refused charge leaves the balance untouched, and the balance always equals the sum of its entries.

let h: CommandHarness;

beforeAll(async () => {
  h = await startCommandHarness();
});
afterAll(() => h.close());

const charge = (id: string, accountId: string, amount: number, currency = "usd") =>
  ({ id, type: "balance.charge", accountId, amount, currency, reason: "usage" }) as const;

describe("balance.charge", () => {
  it("debits the balance, writes a charge_debit entry keyed by the command id and emits balance.debited", async () => {
    await fundAccount(h.db, "acct-1", "usd", 1000, "pi_seed_1");
    expect(await h.apply(commandInbound(charge("ch-1", "acct-1", 400)))).toBe("applied");

    expect(await balanceOf(h.db, "acct-1", "usd")).toBe(600);
    expect(await commandRow(h.db, "ch-1")).toMatchObject({
      status: "succeeded",
      result: { accountId: "acct-1", currency: "usd", amount: 400, balance: 600, reason: "usage" },
    });
    const entries = await h.db
      .selectFrom("ledger_entries")
      .selectAll()
      .where("kind", "=", "charge_debit")
      .execute();
    expect(entries).toMatchObject([
      { account_id: "acct-1", currency: "usd", amount: -400, source_id: "ch-1" },
    ]);
    expect((await commandEvents(h.db, "ch-1")).map((e) => [e.type, e.body.data])).toEqual([
      [
        "balance.debited",
        {
          accountId: "acct-1",
          currency: "usd",
          amount: 400,
          balance: 600,
          reason: "usage",
          commandId: "ch-1",
        },
      ],
      [
        "command.succeeded",
        {
          commandId: "ch-1",
          commandType: "balance.charge",
          status: "succeeded",
          result: { accountId: "acct-1", currency: "usd", amount: 400, balance: 600, reason: "usage" },
        },
      ],
    ]);
    expect(await balanceDrift(h.db)).toEqual([]);
  });

  // Refused, not dead-lettered: the command fails with a reason and nothing moves.
  it("fails insufficient_funds above the balance, and unknown_account without one, leaving balances untouched", async () => {
    await fundAccount(h.db, "acct-2", "usd", 500, "pi_seed_2");
    await h.apply(commandInbound(charge("ch-2", "acct-2", 501)));
    await h.apply(commandInbound(charge("ch-3", "acct-nobody", 1)));
    await h.apply(commandInbound(charge("ch-4", "acct-2", 1, "eur")));

    expect(await commandRow(h.db, "ch-2")).toMatchObject({
      status: "failed",
      result: null,
      error: { code: "insufficient_funds", message: expect.stringContaining("5.01 USD") },
    });
    expect((await commandRow(h.db, "ch-3"))?.error).toMatchObject({ code: "unknown_account" });
    expect((await commandRow(h.db, "ch-4"))?.error).toMatchObject({ code: "unknown_account" });
    expect(await balanceOf(h.db, "acct-2", "usd")).toBe(500);
    expect(await balanceOf(h.db, "acct-nobody", "usd")).toBeUndefined();
    expect((await commandEvents(h.db, "ch-2")).map((e) => e.type)).toEqual(["command.failed"]);
    expect(await balanceDrift(h.db)).toEqual([]);
  });

  // 150 charges of 100 against 10 000, raced by two "workers" (two pools, ten connections each):
  // exactly 100 succeed and 50 fail, and the balance ends at 0. None of the 150 transactions
  // failed, so the balance CHECK (>= 0) never fired: it was never about to go negative.
  it("lets exactly 100 of 150 concurrent charges through across two workers", async () => {
    await fundAccount(h.db, "acct-race", "usd", 10_000, "pi_seed_race");
    const workers: Db[] = [0, 1].map(() => createDb({ url: h.database.url, poolSize: 10 }));
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          h.apply(commandInbound(charge(`race-${i}`, "acct-race", 100)), { db: workers[i % 2] }),
        ),
      );
      expect(outcomes.every((o) => o === "applied")).toBe(true);
    } finally {
      await Promise.all(workers.map((db) => db.destroy()));
    }
    const rows = await h.db
      .selectFrom("commands")
      .select(["status", "error"])
      .where("command_id", "like", "race-%")
      .execute();
    expect(rows.filter((r) => r.status === "succeeded")).toHaveLength(100);
    const refused = rows.filter((r) => r.status === "failed");
    expect(refused).toHaveLength(50);
    expect(refused.every((r) => (r.error as { code: string }).code === "insufficient_funds")).toBe(true);
    expect(await balanceOf(h.db, "acct-race", "usd")).toBe(0);
    expect(await balanceDrift(h.db)).toEqual([]);
  });
});
