import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stripeInboxKey } from "../../lib/amqp/inbound-message.ts";
import { PermanentError, TransientError } from "../../lib/domain/errors.ts";
import { loadLedgerBook, writePostings } from "../../lib/tables/ledger.ts";
import { chargeRefunded, paymentIntent } from "../domain/stripe-fixtures.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { balanceDrift, balances, outboxCounts } from "./billing-state.ts";
import { type Applier, applier, stripeEvent, stripeMessage } from "./stripe-messages.ts";

let database: TestDatabase;
let worker: Applier;

beforeAll(async () => {
  database = await createTestDatabase();
  worker = applier(database.db);
});
afterAll(() => database.drop());

const charge = (chargeRefunded().data as { object: Record<string, unknown> }).object;

function succeeded(piId: string, account: string | null, amount = 2500, currency = "usd") {
  return stripeEvent(
    "payment_intent.succeeded",
    1_760_000_005,
    paymentIntent("succeeded", {
      id: piId,
      amount,
      amount_received: amount,
      currency,
      metadata: account === null ? {} : { account_id: account, purpose: "deposit" },
    }),
  );
}

/** charge.refunded for `piId` whose CUMULATIVE refunded amount is `amountRefunded`. */
function refunded(piId: string, amountRefunded: number, created = 1_760_000_100, currency = "usd") {
  return stripeEvent("charge.refunded", created, {
    ...charge,
    id: `ch_${piId}`,
    payment_intent: piId,
    amount_refunded: amountRefunded,
    refunded: amountRefunded === charge.amount,
    currency,
  });
}

const balanceOf = async (key: string) => (await balances(database.db))[key];
const refundEntries = (piId: string) =>
  database.db
    .selectFrom("ledger_entries")
    .select(["amount", "source_id"])
    .where("kind", "=", "refund_debit")
    .where("source_id", "like", `${piId}:%`)
    .orderBy("id")
    .execute();
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

// A posting is planned against the locked balance and written by the one ledger writer.
const post = (accountId: string, kind: "charge_debit" | "deposit_credit", sourceId: string, amount: number) =>
  database.db.transaction().execute(async (trx) => {
    const book = await loadLedgerBook(trx, {
      accounts: [{ accountId, currency: "usd" }],
      keys: [{ kind, sourceId }],
      create: kind === "deposit_credit",
    });
    const result = book.post({ accountId, currency: "usd", kind, sourceId, amount });
    await writePostings(trx, book.postings(), book.movedBalances());
    return result;
  });

describe("charge.refunded", () => {
  // Reordering: a refund that overtakes its payment_intent.succeeded is retried (transient), leaves
  // nothing behind meanwhile, and applies once the payment has landed.
  it("is transient before its payment, then applies after it", async () => {
    const refund = stripeMessage(refunded("pi_early_refund", 1000));
    const early = await failure(worker.apply(refund));
    expect(early).toBeInstanceOf(TransientError);
    expect(early).toMatchObject({ code: "out_of_order" });
    const inbox = await database.db
      .selectFrom("processed_messages")
      .select("message_id")
      .where("message_id", "=", stripeInboxKey(String(refund.messageId)))
      .execute();
    expect(inbox).toEqual([]);

    await worker.apply(stripeMessage(succeeded("pi_early_refund", "acct-early")));
    expect(await worker.apply(refund)).toBe("applied");
    expect(await balanceOf("acct-early:usd")).toBe(1500);
    expect(await refundEntries("pi_early_refund")).toEqual([
      { amount: -1000, source_id: "pi_early_refund:refunded:1000" },
    ]);
  });

  // Known payment, but its success not applied yet (only payment_intent.created seen): still wait.
  it("is transient while the deposit is known but not yet credited", async () => {
    const created = stripeEvent(
      "payment_intent.created",
      1_760_000_000,
      paymentIntent("requires_payment_method", {
        id: "pi_created_only",
        amount_received: 0,
        metadata: { account_id: "acct-created" },
      }),
    );
    await worker.apply(stripeMessage(created));
    const error = await failure(worker.apply(stripeMessage(refunded("pi_created_only", 500))));
    expect(error).toMatchObject({ kind: "transient", code: "out_of_order" });
  });

  // Cumulative amounts: 1000 then 2500 debit 1000 + 1500; the 1000 event again (redelivered under
  // a new message after a prune, or resent) debits nothing. Total debited = max(cumulative).
  it("debits only the increase of the cumulative refunded amount", async () => {
    await worker.apply(stripeMessage(succeeded("pi_partial", "acct-partial")));
    const first = refunded("pi_partial", 1000, 1_760_000_100);
    await worker.apply(stripeMessage(first));
    await worker.apply(stripeMessage(refunded("pi_partial", 2500, 1_760_000_200)));
    await worker.apply(stripeMessage(first));
    await database.db.deleteFrom("processed_messages").where("message_id", "=", String(first.id)).execute();
    await worker.apply(stripeMessage(first));

    expect(await balanceOf("acct-partial:usd")).toBe(0);
    expect(await refundEntries("pi_partial")).toEqual([
      { amount: -1000, source_id: "pi_partial:refunded:1000" },
      { amount: -1500, source_id: "pi_partial:refunded:2500" },
    ]);
    const row = await database.db
      .selectFrom("payments")
      .select("amount_refunded")
      .where("payment_intent_id", "=", "pi_partial")
      .executeTakeFirstOrThrow();
    expect(row.amount_refunded).toBe(2500);
  });

  // Out of order: the later cumulative (2500) first, then the earlier (1000): debited once, 2500.
  it("debits the maximum once when cumulative refunds arrive out of order", async () => {
    await worker.apply(stripeMessage(succeeded("pi_reversed", "acct-reversed")));
    await worker.apply(stripeMessage(refunded("pi_reversed", 2500, 1_760_000_200)));
    await worker.apply(stripeMessage(refunded("pi_reversed", 1000, 1_760_000_100)));
    expect(await balanceOf("acct-reversed:usd")).toBe(0);
    expect(await refundEntries("pi_reversed")).toEqual([
      { amount: -2500, source_id: "pi_reversed:refunded:2500" },
    ]);
    const debited = await database.db
      .selectFrom("outbox")
      .select("payload")
      .where("type", "=", "balance.debited")
      .where(sql<string>`payload->'data'->>'paymentIntentId'`, "=", "pi_reversed")
      .execute();
    expect(debited.map((r) => r.payload.data)).toMatchObject([{ amount: 2500, amountRefunded: 2500 }]);
  });

  // A refund of a payment that credited no account (not a deposit) moves no money.
  it("has no effect for a payment without an account", async () => {
    await worker.apply(stripeMessage(succeeded("pi_plain", null)));
    const before = await outboxCounts(database.db);
    expect(await worker.apply(stripeMessage(refunded("pi_plain", 2500)))).toBe("applied");
    expect(await refundEntries("pi_plain")).toEqual([]);
    expect(await outboxCounts(database.db)).toEqual(before);
  });

  // The balance never goes below zero: a refund of money already spent is permanent (ops sees it
  // in the DLQ) and writes nothing, not even the payment's refunded amount.
  it("refuses, permanently, a debit that would take the balance below zero", async () => {
    await worker.apply(stripeMessage(succeeded("pi_spent", "acct-spent")));
    // the account spends 2000 of its 2500 (as balance.charge would)
    await post("acct-spent", "charge_debit", "cmd-spend-2000", 2000);
    const error = await failure(worker.apply(stripeMessage(refunded("pi_spent", 1000))));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: "insufficient_funds" });
    expect((error as Error).message).toBe(
      "charge.refunded ch_pi_spent: debiting 10.00 USD from account acct-spent would take its balance of 5.00 USD below zero",
    );
    expect(await balanceOf("acct-spent:usd")).toBe(500);
    expect(await refundEntries("pi_spent")).toEqual([]);
    const row = await database.db
      .selectFrom("payments")
      .select("amount_refunded")
      .where("payment_intent_id", "=", "pi_spent")
      .executeTakeFirstOrThrow();
    expect(row.amount_refunded).toBe(0);
  });

  // A refund in another currency than the deposit, or of more than was credited, cannot be right.
  it("refuses a refund that does not match the deposit", async () => {
    await worker.apply(stripeMessage(succeeded("pi_mismatch", "acct-mismatch", 2500, "eur")));
    const currency = await failure(
      worker.apply(stripeMessage(refunded("pi_mismatch", 100, 1_760_000_100, "usd"))),
    );
    expect(currency).toMatchObject({ kind: "permanent", code: "currency_mismatch" });
    const tooMuch = await failure(
      worker.apply(stripeMessage(refunded("pi_mismatch", 2600, 1_760_000_100, "eur"))),
    );
    expect(tooMuch).toMatchObject({ kind: "permanent", code: "invalid_event" });
    expect(await balanceOf("acct-mismatch:eur")).toBe(2500);
  });

  // Whatever happened above, every balance is the sum of its ledger entries.
  it("keeps balance = sum(ledger) for every account", async () => {
    expect(await balanceDrift(database.db)).toEqual([]);
  });
});

describe("the ledger book and writer", () => {
  // Refusals are values, and nothing is written for them.
  it("refuses a debit of an account that does not exist, creating nothing", async () => {
    expect(await post("acct-never", "charge_debit", "cmd-never", 1)).toEqual({
      outcome: "insufficient_funds",
      balance: 0,
      accountExists: false,
    });
    expect(await balanceOf("acct-never:usd")).toBeUndefined();
  });

  // The same (kind, source) twice is one entry, whatever amount the second asks for.
  it("posts a source once", async () => {
    expect(await post("acct-once", "deposit_credit", "pi_once", 300)).toMatchObject({
      outcome: "posted",
      balance: 300,
    });
    expect(await post("acct-once", "deposit_credit", "pi_once", 999)).toEqual({ outcome: "duplicate" });
    expect(await balanceOf("acct-once:usd")).toBe(300);
  });
});
