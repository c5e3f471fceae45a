import { createHash } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermanentError, TransientError } from "../../lib/domain/errors.ts";
import type { Handler } from "../../lib/handlers/context.ts";
import { handleStripeEvent } from "../../lib/handlers/stripe-event.ts";
import { type ApplyDeps, applyBatch, applyMessage, inboxKey } from "../../lib/worker/apply-message.ts";
import { benchEvents } from "../../ops/bench/signed-events.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  createEffectsTable,
  effectCounts,
  failing,
  log,
  recordEffect,
  stripe,
  stripeMessage,
} from "./test-handlers.ts";

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await createEffectsTable(database.db);
  await sql`CREATE TABLE billing.test_locks (id integer PRIMARY KEY, n integer NOT NULL)`.execute(
    database.db,
  );
  await sql`INSERT INTO billing.test_locks VALUES (1, 0), (2, 0)`.execute(database.db);
});
afterAll(async () => {
  await database?.drop();
});

function deps(dispatch: Handler): ApplyDeps {
  return { db: database.db, log, stripe, dispatch };
}

async function inboxHas(key: string): Promise<boolean> {
  const row = await database.db
    .selectFrom("processed_messages")
    .select("message_id")
    .where("message_id", "=", key)
    .executeTakeFirst();
  return row !== undefined;
}

describe("inboxKey", () => {
  // Stripe events are keyed by event id; commands by id AND body so that the commands table sees a
  // re-sent command with other fields (idempotency_conflict); anything else is never applied.
  it("keys Stripe events by event id and commands by id and body hash", () => {
    const body = Buffer.from('{"id":"cmd_1","type":"balance.charge"}');
    const command = stripeMessage("cmd_1", { routingKey: "command.balance.charge", body });
    const sha = createHash("sha256").update(body).digest("hex");
    expect(inboxKey(stripeMessage("evt_1"))).toBe("stripe:evt_1");
    expect(inboxKey(command)).toBe(`command:cmd_1:${sha}`);
    expect(inboxKey({ ...command, body: Buffer.from('{"id":"cmd_1","amount":2}') })).not.toBe(
      inboxKey(command),
    );
    expect(() => inboxKey(stripeMessage("x", { routingKey: "other.thing" }))).toThrow(PermanentError);
    expect(() => inboxKey(stripeMessage(""))).toThrow(PermanentError);
  });
});

describe("applyBatch", () => {
  // Several messages, one transaction: each applied once, in order; one already in the inbox and
  // one twice in the batch are duplicates whose handler does not run.
  it("applies a batch once each, with duplicates inside it and from before", async () => {
    const handler = failing(0, () => undefined);
    expect(await applyMessage(deps(handler), stripeMessage("evt_b0"))).toBe("applied");
    const batch = ["evt_b1", "evt_b0", "evt_b2", "evt_b1"].map((id) => stripeMessage(id));
    expect(await applyBatch(deps(handler), batch)).toEqual(["applied", "duplicate", "applied", "duplicate"]);
    for (const id of ["evt_b0", "evt_b1", "evt_b2"]) {
      expect(handler.calls(id)).toBe(1);
      expect((await effectCounts(database.db)).get(id)).toBe(1);
    }
    expect(await applyBatch(deps(handler), batch.slice(0, 3))).toEqual([
      "duplicate",
      "duplicate",
      "duplicate",
    ]);
  });

  // One failing message rolls back its neighbours too (the consumer then applies them one by
  // one); the error comes back classified, and nothing of the batch is in the inbox.
  it("rolls the whole batch back when one handler throws", async () => {
    const error = new PermanentError("unknown_account", "no account acc_y");
    const dispatch: Handler = async (context) => {
      await recordEffect(context);
      if (context.message.id === "evt_bad") throw error;
    };
    const batch = ["evt_good1", "evt_bad", "evt_good2"].map((id) => stripeMessage(id));
    await expect(applyBatch(deps(dispatch), batch)).rejects.toBe(error);
    for (const id of ["evt_good1", "evt_bad", "evt_good2"]) {
      expect(await inboxHas(`stripe:${id}`)).toBe(false);
      expect((await effectCounts(database.db)).get(id)).toBeUndefined();
    }
  });
});

describe("applyBatch with the real Stripe event handler", () => {
  // The handlers' audit rows and domain events are collected and written in one statement each
  // before the commit: all of them, once, and none for the duplicates.
  it("writes every audit row and domain event of the batch once", async () => {
    const make = benchEvents({ prefix: "outbox", accounts: 2 });
    const messages = [0, 1, 2].map((i) => {
      const event = make(i);
      return stripeMessage(event.id, {
        type: "payment_intent.succeeded",
        routingKey: "stripe.payment_intent.succeeded",
        body: Buffer.from(event.body),
      });
    });
    const outboxRows = async () =>
      database.db
        .selectFrom("outbox")
        .select(["type", "correlation_id"])
        .where("correlation_id", "like", "evt_bench_outbox_%")
        .orderBy("id")
        .execute();
    expect(await applyBatch(deps(handleStripeEvent), messages)).toEqual(["applied", "applied", "applied"]);
    const rows = await outboxRows();
    expect(rows.map((r) => r.type)).toEqual([
      "payment.succeeded",
      "balance.credited",
      "payment.succeeded",
      "balance.credited",
      "payment.succeeded",
      "balance.credited",
    ]);
    expect(rows.map((r) => r.correlation_id)).toEqual(messages.flatMap((m) => [m.id, m.id]));
    const audited = await database.db
      .selectFrom("stripe_events")
      .select("event_id")
      .where("event_id", "like", "evt_bench_outbox_%")
      .orderBy("event_id")
      .execute();
    expect(audited.map((r) => r.event_id)).toEqual(messages.map((m) => m.id));
    expect(await applyBatch(deps(handleStripeEvent), messages)).toEqual([
      "duplicate",
      "duplicate",
      "duplicate",
    ]);
    expect(await outboxRows()).toHaveLength(6);
  });
});

describe("applyMessage", () => {
  // The core exactly-once property: a second delivery of the same message is a duplicate, with
  // no second effect, and the handler does not even run.
  it("applies once; the same message again is a duplicate with no second effect", async () => {
    const handler = failing(0, () => undefined);
    const message = stripeMessage("evt_once");
    expect(await applyMessage(deps(handler), message)).toBe("applied");
    expect(await applyMessage(deps(handler), message)).toBe("duplicate");
    expect(await applyMessage(deps(handler), { ...message, attempt: 2 })).toBe("duplicate");
    expect(handler.calls("evt_once")).toBe(1);
    expect((await effectCounts(database.db)).get("evt_once")).toBe(1);
    expect(await inboxHas("stripe:evt_once")).toBe(true);
  });

  // Two workers holding the same message at once: the inbox row makes one wait for the other's
  // commit, and it then sees a duplicate.
  it("lets only one of two concurrent deliveries apply", async () => {
    const message = stripeMessage("evt_concurrent");
    const outcomes = await Promise.all([
      applyMessage(deps(recordEffect), message),
      applyMessage(deps(recordEffect), message),
    ]);
    expect(outcomes.sort()).toEqual(["applied", "duplicate"]);
    expect((await effectCounts(database.db)).get("evt_concurrent")).toBe(1);
  });

  // A failing handler commits nothing: no inbox row (so a retry applies), no partial effect.
  it("rolls everything back when the handler throws, and rethrows its error", async () => {
    const error = new PermanentError("unknown_account", "no account acc_x");
    const handler: Handler = async (context) => {
      await recordEffect(context);
      throw error;
    };
    await expect(applyMessage(deps(handler), stripeMessage("evt_rollback"))).rejects.toBe(error);
    expect(await inboxHas("stripe:evt_rollback")).toBe(false);
    expect((await effectCounts(database.db)).get("evt_rollback")).toBeUndefined();
    expect(await applyMessage(deps(recordEffect), stripeMessage("evt_rollback"))).toBe("applied");
  });

  // Commands: an identical re-send is a duplicate; other fields under the same id reach the
  // handler (whose commands table reports the conflict).
  it("runs the handler again for a command re-sent with different fields", async () => {
    const handler = failing(0, () => undefined);
    const command = (body: object) =>
      stripeMessage("cmd_fields", {
        routingKey: "command.balance.charge",
        body: Buffer.from(JSON.stringify(body)),
      });
    expect(await applyMessage(deps(handler), command({ amount: 1 }))).toBe("applied");
    expect(await applyMessage(deps(handler), command({ amount: 1 }))).toBe("duplicate");
    expect(await applyMessage(deps(handler), command({ amount: 2 }))).toBe("applied");
    expect(handler.calls("cmd_fields")).toBe(2);
  });

  it("refuses a routing key that is neither stripe.* nor command.*, without a transaction", async () => {
    const handler = failing(0, () => undefined);
    const message = stripeMessage("evt_bad_key", { routingKey: "billing_queue" });
    await expect(applyMessage(deps(handler), message)).rejects.toMatchObject({
      kind: "permanent",
      code: "invalid_message",
    });
    expect(handler.calls("evt_bad_key")).toBe(0);
  });

  // A real serialization failure from the server (SQLSTATE 40001) is retried in process, and the
  // message applies once.
  it("retries a serialization failure in process and applies once", async () => {
    let calls = 0;
    const raising: Handler = async (context) => {
      calls += 1;
      // the effect is written each time; the failed tries roll it back
      await recordEffect(context);
      if (calls <= 2) {
        await sql`DO $$ BEGIN RAISE EXCEPTION 'could not serialize' USING ERRCODE = '40001'; END $$`.execute(
          context.trx,
        );
      }
    };
    expect(await applyMessage(deps(raising), stripeMessage("evt_40001"))).toBe("applied");
    expect(calls).toBe(3);
    expect((await effectCounts(database.db)).get("evt_40001")).toBe(1);
  });

  // Past the quick retries the error goes to the consumer as a classified TransientError (and so
  // to the delayed ladder), with nothing committed.
  it("gives up after the quick retries with a TransientError", async () => {
    let calls = 0;
    const raising: Handler = async ({ trx }) => {
      calls += 1;
      await sql`DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$`.execute(trx);
    };
    const error = await applyMessage(deps(raising), stripeMessage("evt_always_40P01")).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: "deadlock" });
    expect(calls).toBe(3);
    expect(await inboxHas("stripe:evt_always_40P01")).toBe(false);
  });

  // Only database races are retried in process: a handler's own TransientError (an event that is
  // early, a slow Stripe) goes straight to the delayed ladder.
  it("does not retry a handler's own TransientError in process", async () => {
    const handler = failing(5, () => new TransientError("out_of_order", "subscription not seen yet"));
    await expect(applyMessage(deps(handler), stripeMessage("evt_early"))).rejects.toMatchObject({
      code: "out_of_order",
    });
    expect(handler.calls("evt_early")).toBe(1);
  });

  // A deadlock provoked by two real transactions taking two rows in opposite orders: the worker's
  // transaction is the victim, is retried in process, and applies once.
  it("survives a real deadlock with another transaction", async () => {
    let handlerPid: number | undefined;
    let calls = 0;
    let releaseHandler: () => void = () => undefined;
    const otherHoldsTwo = new Promise<void>((resolve) => {
      releaseHandler = resolve;
    });
    const handler: Handler = async (context) => {
      calls += 1;
      if (calls === 1) {
        const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(context.trx);
        handlerPid = rows[0]?.pid;
        await sql`UPDATE billing.test_locks SET n = n + 1 WHERE id = 1`.execute(context.trx);
        await otherHoldsTwo;
        // waits for the other transaction, which then waits for us: a cycle
        await sql`UPDATE billing.test_locks SET n = n + 1 WHERE id = 2`.execute(context.trx);
      } else {
        await sql`UPDATE billing.test_locks SET n = n + 1 WHERE id IN (1, 2)`.execute(context.trx);
      }
      await recordEffect(context);
    };

    const other = database.db.transaction().execute(async (trx) => {
      await sql`UPDATE billing.test_locks SET n = n + 10 WHERE id = 2`.execute(trx);
      await waitFor(() => handlerPid !== undefined, "the worker's transaction");
      releaseHandler();
      // Once the worker waits for row 2, take row 1: the worker started waiting first, so its
      // deadlock check runs first and it is the one aborted.
      await waitFor(
        async () => {
          const { rows } = await sql<{ waiting: boolean }>`
          SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = ${handlerPid}`.execute(
            database.db,
          );
          return rows[0]?.waiting === true;
        },
        "the worker waiting for row 2",
        10_000,
        5,
      );
      await sql`UPDATE billing.test_locks SET n = n + 10 WHERE id = 1`.execute(trx);
    });

    const applied = applyMessage(deps(handler), stripeMessage("evt_deadlock"));
    // On a machine too slow to take row 1 within deadlock_timeout of the worker starting to wait,
    // Postgres aborts the other transaction instead; the worker then simply applies on its first try.
    const otherOutcome = await other.then(
      () => "committed",
      (error: { code?: string }) => {
        if (error.code === "40P01") return "aborted";
        throw error;
      },
    );
    expect(await applied).toBe("applied");
    expect((await effectCounts(database.db)).get("evt_deadlock")).toBe(1);
    const { rows } = await sql<{
      id: number;
      n: number;
    }>`SELECT id, n FROM billing.test_locks ORDER BY id`.execute(database.db);
    if (otherOutcome === "committed") {
      // the usual case: the worker was the victim, retried in process, and applied once
      expect(calls).toBe(2);
      expect(rows).toEqual([
        { id: 1, n: 11 },
        { id: 2, n: 11 },
      ]);
    } else {
      expect(calls).toBe(1);
      expect(rows).toEqual([
        { id: 1, n: 1 },
        { id: 2, n: 1 },
      ]);
    }
  });
});
