import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stripeInboxKey } from "../../lib/amqp/inbound-message.ts";
import { PermanentError } from "../../lib/domain/errors.ts";
import { balanceUpdates, paymentProcessing, payments } from "../../lib/metrics/registry.ts";
import {
  absent,
  paymentIntent,
  paymentIntentPaymentFailed,
  paymentIntentSucceeded,
  withField,
} from "../domain/stripe-fixtures.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import {
  balanceDrift,
  balances,
  counterValue,
  histogramCount,
  outboxCounts,
  rowCount,
} from "./billing-state.ts";
import { type Applier, applier, stripeEvent, stripeMessage } from "./stripe-messages.ts";

let database: TestDatabase;
let worker: Applier;

beforeAll(async () => {
  database = await createTestDatabase();
  worker = applier(database.db);
});
afterAll(() => database.drop());

/** A succeeded deposit of `amount` for `account`, on its own PaymentIntent. */
function deposit(piId: string, account: string | null, amount: number, created = 1_760_000_005) {
  const metadata = account === null ? {} : { account_id: account, purpose: "deposit" };
  return stripeEvent(
    "payment_intent.succeeded",
    created,
    paymentIntent("succeeded", { id: piId, amount, amount_received: amount, metadata }),
  );
}

const payment = (id: string) =>
  database.db.selectFrom("payments").selectAll().where("payment_intent_id", "=", id).executeTakeFirst();

describe("payment_intent.succeeded", () => {
  // Exactly once: the same event delivered three times is one credit, one ledger entry, one event each.
  it("credits the account once when the same event arrives three times", async () => {
    const event = paymentIntentSucceeded();
    const credits = await counterValue(balanceUpdates, { direction: "credit", kind: "deposit_credit" });
    const succeeded = await counterValue(payments, { outcome: "succeeded" });
    const timed = await histogramCount(paymentProcessing);

    const results = [];
    for (let i = 0; i < 3; i++) results.push(await worker.apply(stripeMessage(event)));

    expect(results).toEqual(["applied", "duplicate", "duplicate"]);
    expect((await balances(database.db))["acct-42:usd"]).toBe(2500);
    const entries = await database.db.selectFrom("ledger_entries").selectAll().execute();
    expect(entries).toMatchObject([
      {
        account_id: "acct-42",
        currency: "usd",
        amount: 2500,
        kind: "deposit_credit",
        source_id: "pi_3QxYz2LkdIwHu7ix0b8Qe1Ab",
      },
    ]);
    expect(await outboxCounts(database.db)).toEqual({ "payment.succeeded": 1, "balance.credited": 1 });
    expect(await payment("pi_3QxYz2LkdIwHu7ix0b8Qe1Ab")).toMatchObject({
      account_id: "acct-42",
      status: "succeeded",
      amount: 2500,
      amount_received: 2500,
      event_created: 1_760_000_005,
    });
    expect(await counterValue(balanceUpdates, { direction: "credit", kind: "deposit_credit" })).toBe(
      credits + 1,
    );
    expect(await counterValue(payments, { outcome: "succeeded" })).toBe(succeeded + 1);
    expect(await histogramCount(paymentProcessing)).toBe(timed + 1);
    expect(await balanceDrift(database.db)).toEqual([]);
  });

  // The inbox is pruned after a retention window (ops prune): an old event redelivered after that
  // must still not credit twice, so the handler itself is idempotent through the ledger source.
  it("does not credit again when the inbox row is gone", async () => {
    const event = deposit("pi_pruned_inbox", "acct-prune", 700);
    expect(await worker.apply(stripeMessage(event))).toBe("applied");
    await database.db
      .deleteFrom("processed_messages")
      .where("message_id", "=", stripeInboxKey(String(event.id)))
      .execute();
    expect(await worker.apply(stripeMessage(event))).toBe("applied");

    expect((await balances(database.db))["acct-prune:usd"]).toBe(700);
    const entries = await database.db
      .selectFrom("ledger_entries")
      .select("amount")
      .where("account_id", "=", "acct-prune")
      .execute();
    expect(entries).toEqual([{ amount: 700 }]);
    const events = await database.db
      .selectFrom("outbox")
      .select("type")
      .where("correlation_id", "=", String(event.id))
      .execute();
    expect(events.map((e) => e.type).sort()).toEqual(["balance.credited", "payment.succeeded"]);
  });

  // Money goes in the PaymentIntent's own currency: (account, currency) is the key of a balance.
  it("credits each currency of an account separately", async () => {
    await worker.apply(stripeMessage(deposit("pi_multi_usd", "acct-multi", 1000)));
    const eur = stripeEvent(
      "payment_intent.succeeded",
      1_760_000_005,
      paymentIntent("succeeded", {
        id: "pi_multi_eur",
        amount: 900,
        amount_received: 900,
        currency: "eur",
        metadata: { account_id: "acct-multi" },
      }),
    );
    await worker.apply(stripeMessage(eur));
    const all = await balances(database.db);
    expect([all["acct-multi:usd"], all["acct-multi:eur"]]).toEqual([1000, 900]);
  });

  // A payment that is not a deposit (no account_id) is recorded but moves no money.
  it("records a payment without an account and credits nothing", async () => {
    const before = await rowCount(database.db, "ledger_entries");
    await worker.apply(stripeMessage(deposit("pi_no_account", null, 1200)));
    expect(await payment("pi_no_account")).toMatchObject({ account_id: null, status: "succeeded" });
    expect(await rowCount(database.db, "ledger_entries")).toBe(before);
  });

  // Forward-only: a failure older than the success never takes the payment back from succeeded.
  it("keeps succeeded when an older payment_failed arrives after it", async () => {
    const succeeded = deposit("pi_late_failure", "acct-late", 500, 1_760_000_010);
    const failed = stripeEvent(
      "payment_intent.payment_failed",
      1_760_000_004,
      paymentIntent("requires_payment_method", {
        id: "pi_late_failure",
        amount: 500,
        metadata: { account_id: "acct-late" },
        last_payment_error: { code: "card_declined", message: "Your card was declined." },
      }),
    );
    await worker.apply(stripeMessage(succeeded));
    await worker.apply(stripeMessage(failed));
    expect(await payment("pi_late_failure")).toMatchObject({
      status: "succeeded",
      last_error: null,
      amount_received: 500,
      event_id: succeeded.id,
    });
    expect((await balances(database.db))["acct-late:usd"]).toBe(500);
  });
});

describe("payment_intent.payment_failed", () => {
  // A declined attempt: status failed with the reason, a payment.failed event, no money moved.
  it("marks the payment failed with the error and emits payment.failed", async () => {
    const event = withField(paymentIntentPaymentFailed(), "id", "pi_declined_once");
    const failedBefore = await counterValue(payments, { outcome: "failed" });
    const outboxBefore = (await outboxCounts(database.db))["payment.failed"] ?? 0;
    await worker.apply(stripeMessage(event));

    expect(await payment("pi_declined_once")).toMatchObject({
      status: "failed",
      last_error: "Your card has insufficient funds.",
      amount_received: 0,
    });
    expect((await outboxCounts(database.db))["payment.failed"]).toBe(outboxBefore + 1);
    expect(await counterValue(payments, { outcome: "failed" })).toBe(failedBefore + 1);
    const row = await database.db
      .selectFrom("outbox")
      .select(["payload", "correlation_id"])
      .where("type", "=", "payment.failed")
      .where("correlation_id", "=", String(event.id))
      .executeTakeFirstOrThrow();
    expect(row.payload).toMatchObject({
      type: "payment.failed",
      correlationId: event.id,
      occurredAt: new Date(1_760_000_004_000).toISOString(),
      data: { paymentIntentId: "pi_declined_once", lastError: "Your card has insufficient funds." },
    });
  });

  // A retried attempt that then succeeds moves the payment forward from failed.
  it("lets a newer success replace the failure", async () => {
    const failed = withField(paymentIntentPaymentFailed(), "id", "pi_retried");
    await worker.apply(stripeMessage(failed));
    await worker.apply(stripeMessage(deposit("pi_retried", "acct-retried", 2500, 1_760_000_050)));
    expect(await payment("pi_retried")).toMatchObject({ status: "succeeded", last_error: null });
    expect((await balances(database.db))["acct-retried:usd"]).toBe(2500);
  });
});

describe("invalid messages", () => {
  const rejected = async (message: ReturnType<typeof stripeMessage>) =>
    worker.apply(message).then(
      () => undefined,
      (error: unknown) => error,
    );

  // A payload missing what the handler needs is permanent (DLQ) and leaves nothing behind, not
  // even the inbox row, so a replay after a fix applies it.
  it("rejects a succeeded PaymentIntent without an amount, permanently, writing nothing", async () => {
    const event = withField(deposit("pi_no_amount", "acct-x", 100), "amount", absent);
    const error = await rejected(stripeMessage(event));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({
      code: "invalid_event",
      message: "payment_intent.succeeded: amount missing",
    });
    expect(await payment("pi_no_amount")).toBeUndefined();
    const inbox = await database.db
      .selectFrom("processed_messages")
      .select("message_id")
      .where("message_id", "=", String(event.id))
      .execute();
    expect(inbox).toEqual([]);
  });

  // Garbage is not a Stripe event: permanent, never retried.
  it("rejects a body that is not a Stripe event", async () => {
    const message = stripeMessage(deposit("pi_garbage", "acct-x", 100), { body: Buffer.from("{not json") });
    expect(await rejected(message)).toMatchObject({ kind: "permanent", code: "invalid_event" });
    const utf16 = stripeMessage(deposit("pi_garbage", "acct-x", 100), {
      body: Buffer.from([0xff, 0xfe, 0x7b]),
    });
    expect(await rejected(utf16)).toMatchObject({ kind: "permanent", code: "invalid_event" });
  });

  // The inbox keys on the message id: a body of another event under this id would be applied
  // under the wrong key, so a mismatch is refused.
  it("rejects a message whose id is not the event's id", async () => {
    const event = deposit("pi_mismatch", "acct-x", 100);
    const error = await rejected(stripeMessage(event, { id: "evt_someone_else" }));
    expect(error).toMatchObject({ kind: "permanent", code: "invalid_message" });
    expect(await payment("pi_mismatch")).toBeUndefined();
  });
});
