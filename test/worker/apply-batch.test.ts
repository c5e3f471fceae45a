import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stripeInboxKey } from "../../lib/amqp/inbound-message.ts";
import { createDb, type Db } from "../../lib/db/database.ts";
import { TransientError } from "../../lib/domain/errors.ts";
import { dbDeadlocks } from "../../lib/metrics/registry.ts";
import { applyBatch } from "../../lib/worker/apply-batch.ts";
import { benchMessage } from "../../ops/bench/apply-probe.ts";
import { mixedBenchEvents } from "../../ops/bench/signed-events.ts";
import { counterValue } from "../apply/billing-state.ts";
import { applier, stripeEvent, stripeMessage } from "../apply/stripe-messages.ts";
import { chargeRefunded, paymentIntent, subscription } from "../domain/stripe-fixtures.ts";
import { testLogger } from "../helpers/config.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

// The set-based apply engine: a batch costs a fixed number of statements whatever its size, every
// event applies exactly once (duplicates inside the batch and from before), an event the plan
// refuses leaves its neighbours applied and its own inbox key free, races on new rows are retried
// in process, and the lock order keeps overlapping batches of two workers from deadlocking.

let database: TestDatabase;
const log = testLogger("apply-batch");

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

function deposit(piId: string, account: string, amount: number, id?: string) {
  return stripeEvent(
    "payment_intent.succeeded",
    1_760_000_005,
    paymentIntent("succeeded", {
      id: piId,
      amount,
      amount_received: amount,
      metadata: { account_id: account, purpose: "deposit" },
    }),
    id,
  );
}

const balanceOf = async (account: string) =>
  (
    await database.db
      .selectFrom("accounts")
      .select("balance")
      .where("account_id", "=", account)
      .where("currency", "=", "usd")
      .executeTakeFirst()
  )?.balance;

const inboxHas = async (eventId: string) =>
  (await database.db
    .selectFrom("processed_messages")
    .select("message_id")
    .where("message_id", "=", stripeInboxKey(eventId))
    .executeTakeFirst()) !== undefined;

describe("statements per batch", () => {
  // The measure: the cost is per statement, so a batch must cost a fixed number of them.
  // Both batches hold the bench's mix (deposits, subscription updates, invoice.paid, duplicates).
  it("is the same for a batch of 10 and a batch of 200", async () => {
    let statements = 0;
    const counted: Db = createDb({
      url: database.url,
      poolSize: 1,
      log: (event) => {
        if (event.level === "query") statements += 1;
      },
    });
    try {
      const count = async (prefix: string, size: number, created: number) => {
        const make = mixedBenchEvents({ prefix, accounts: 7, subscriptions: 5, invoices: 5, created });
        const messages = Array.from({ length: size }, (_, i) => benchMessage(make(i)));
        // one duplicate inside the batch, as the bench's 5% would put there
        messages.push(messages[0] as (typeof messages)[number]);
        statements = 0;
        const outcomes = await applyBatch({ db: counted, log }, messages);
        expect(outcomes.filter((o) => o.status === "applied")).toHaveLength(size);
        return statements;
      };
      // first sight of the subscriptions and invoices: every table gets inserts and updates after
      await count("warm", 50, 1_700_000_000);
      const ten = await count("ten", 10, 1_700_010_000);
      const twoHundred = await count("two_hundred", 200, 1_700_020_000);
      expect(twoHundred).toBe(ten);
      // begin, inbox, 3 entity locks, ledger read, accounts, inbox claim, every write in one
      // statement (3 × insert and update, ledger, audit, outbox), commit
      expect(ten).toBeLessThanOrEqual(10);
    } finally {
      await counted.destroy();
    }
  });
});

describe("exactly once", () => {
  // A key twice in one batch is claimed once; a key claimed by an earlier batch is a duplicate.
  it("applies each event once, with duplicates inside the batch and from before", async () => {
    const worker = applier(database.db);
    const a = deposit("pi_once_a", "acct-once", 100);
    const b = deposit("pi_once_b", "acct-once", 200);
    const c = deposit("pi_once_c", "acct-once", 400);
    expect(await worker.apply(stripeMessage(a))).toBe("applied");
    const outcomes = await worker.applyBatch([b, a, c, b].map((e) => stripeMessage(e)));
    expect(outcomes.map((o) => o.status)).toEqual(["applied", "duplicate", "applied", "duplicate"]);
    expect(await balanceOf("acct-once")).toBe(700);
    expect((await worker.applyBatch([a, b, c].map((e) => stripeMessage(e)))).map((o) => o.status)).toEqual([
      "duplicate",
      "duplicate",
      "duplicate",
    ]);
    expect(await balanceOf("acct-once")).toBe(700);
  });

  // Two workers holding the same event at once: the inbox claim makes one wait for the other's
  // commit, and it then sees a duplicate.
  it("lets only one of two concurrent batches with the same event apply it", async () => {
    const worker = applier(database.db);
    const event = deposit("pi_concurrent", "acct-concurrent", 300);
    const [first, second] = await Promise.all([
      worker.applyBatch([stripeMessage(event)]),
      worker.applyBatch([stripeMessage(event)]),
    ]);
    expect([first?.[0]?.status, second?.[0]?.status].sort()).toEqual(["applied", "duplicate"]);
    expect(await balanceOf("acct-concurrent")).toBe(300);
  });
});

describe("audit", () => {
  // The audit row keeps the exact body; a body that starts with a UTF-8 BOM (JSON.parse skips it)
  // is stored without it rather than failing its batch.
  it("keeps each body as it came, a leading BOM left out", async () => {
    const worker = applier(database.db);
    const event = deposit("pi_bom", "acct-bom", 100);
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(event))]);
    const plain = deposit("pi_plain_audit", "acct-bom", 100);
    const outcomes = await worker.applyBatch([stripeMessage(event, { body }), stripeMessage(plain)]);
    expect(outcomes.map((o) => o.status)).toEqual(["applied", "applied"]);
    const rows = await database.db
      .selectFrom("stripe_events")
      .select(["event_id", "payload"])
      .where("event_id", "in", [String(event.id), String(plain.id)])
      .execute();
    expect(rows.map((r) => r.payload).sort((a, b) => String(a.id).localeCompare(String(b.id)))).toEqual(
      [event, plain].sort((a, b) => String(a.id).localeCompare(String(b.id))),
    );
  });
});

describe("an event the plan refuses", () => {
  // A refund whose payment is not applied yet is refused on its own (out_of_order, retried later):
  // its neighbours commit, its inbox key stays free and it is not audited, so its retry applies.
  it("leaves its neighbours applied and its own key free", async () => {
    const worker = applier(database.db);
    const charge = (chargeRefunded().data as { object: Record<string, unknown> }).object;
    const refund = stripeEvent("charge.refunded", 1_760_000_100, {
      ...charge,
      id: "ch_refused",
      payment_intent: "pi_refused_later",
      amount_refunded: 100,
      currency: "usd",
    });
    const neighbour = deposit("pi_refused_neighbour", "acct-refused", 500);
    const outcomes = await worker.applyBatch([stripeMessage(refund), stripeMessage(neighbour)]);
    expect(outcomes[0]).toMatchObject({ status: "refused", error: { code: "out_of_order" } });
    expect(outcomes[0]?.status === "refused" && outcomes[0].error).toBeInstanceOf(TransientError);
    expect(outcomes[1]).toEqual({ status: "applied" });
    expect(await inboxHas(String(refund.id))).toBe(false);
    expect(await inboxHas(String(neighbour.id))).toBe(true);
    const audited = await database.db
      .selectFrom("stripe_events")
      .select("event_id")
      .where("event_id", "=", String(refund.id))
      .execute();
    expect(audited).toEqual([]);

    // the deposit and its refund in ONE batch, refund first: payments are planned before refunds
    const late = deposit("pi_refused_later", "acct-refused-later", 1000);
    const together = await worker.applyBatch([stripeMessage(refund), stripeMessage(late)]);
    expect(together.map((o) => o.status)).toEqual(["applied", "applied"]);
    expect(await balanceOf("acct-refused-later")).toBe(900);
  });
});

describe("races", () => {
  // A new subscription inserted by another transaction between our lock (nothing to lock) and our
  // insert: the insert finds it, the batch is retried in process, and then applies over it.
  it("retries a batch whose new row another transaction inserted first", async () => {
    const worker = applier(database.db);
    const id = "sub_race";
    const created = stripeEvent(
      "customer.subscription.updated",
      1_760_000_200,
      subscription("active", { id }),
      "evt_race_newer",
    );
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const other = database.db.transaction().execute(async (trx) => {
      await sql`INSERT INTO billing.subscriptions (subscription_id, customer_id, status, event_created, event_id)
        VALUES (${id}, 'cus_other', 'incomplete', 1760000100, 'evt_race_older')`.execute(trx);
      await held;
    });
    const applying = worker.applyBatch([stripeMessage(created)]);
    // let the batch reach its insert, which waits for the other transaction
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    await other;
    expect((await applying).map((o) => o.status)).toEqual(["applied"]);
    const row = await database.db
      .selectFrom("subscriptions")
      .select(["status", "event_id"])
      .where("subscription_id", "=", id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: "active", event_id: "evt_race_newer" });
  });

  // Two workers apply batches whose accounts overlap, each batch in its own shuffled order: the
  // global lock order (inbox keys, payments, subscriptions, invoices, accounts; each in key order)
  // means no deadlock is ever detected, and every credit lands once.
  it("never deadlocks two workers on overlapping accounts", async () => {
    const deadlocksBefore = await counterValue(dbDeadlocks);
    const pools = [0, 1].map(() => createDb({ url: database.url, poolSize: 4 }));
    try {
      const rounds = 12;
      const work = pools.map(async (db, w) => {
        const worker = applier(db);
        for (let round = 0; round < rounds; round++) {
          const events = Array.from({ length: 30 }, (_, i) =>
            deposit(`pi_lock_${w}_${round}_${i}`, `acct-lock-${(i * 7 + w * 3 + round) % 10}`, 10),
          );
          // opposite orders in the two workers
          if (w === 1) events.reverse();
          const outcomes = await worker.applyBatch(events.map((e) => stripeMessage(e)));
          expect(outcomes.every((o) => o.status === "applied")).toBe(true);
        }
      });
      await Promise.all(work);
    } finally {
      await Promise.all(pools.map((db) => db.destroy()));
    }
    expect(await counterValue(dbDeadlocks)).toBe(deadlocksBefore);
    const { rows } = await sql<{ total: string }>`
      SELECT sum(balance)::text AS total FROM billing.accounts WHERE account_id LIKE 'acct-lock-%'`.execute(
      database.db,
    );
    expect(Number(rows[0]?.total)).toBe(2 * 12 * 30 * 10);
  });
});

describe("a batch that fails as a whole", () => {
  // Something the plan did not foresee (here a trigger standing in for a bug or a broken row) rolls
  // the whole batch back: no inbox row, no effect, and the error comes back for the consumer to
  // split the batch.
  it("commits nothing and throws", async () => {
    await sql`CREATE FUNCTION billing.test_refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.payment_intent_id = 'pi_poison' THEN RAISE EXCEPTION 'poison row'; END IF; RETURN NEW; END $$`.execute(
      database.db,
    );
    await sql`CREATE TRIGGER test_refuse_poison BEFORE INSERT ON billing.payments
      FOR EACH ROW EXECUTE FUNCTION billing.test_refuse_poison()`.execute(database.db);
    const worker = applier(database.db);
    const good = deposit("pi_poison_neighbour", "acct-poison", 100);
    const poison = deposit("pi_poison", "acct-poison", 100);
    await expect(worker.applyBatch([stripeMessage(good), stripeMessage(poison)])).rejects.toThrow(
      /poison row/,
    );
    expect(await inboxHas(String(good.id))).toBe(false);
    expect(await balanceOf("acct-poison")).toBeUndefined();
    expect((await worker.applyBatch([stripeMessage(good)])).map((o) => o.status)).toEqual(["applied"]);
  });
});
