import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BillingClient, connectBillingClient } from "../../lib/client/index.ts";
import { idempotencyKey } from "../../lib/stripe/client.ts";
import { type Spawned, spawnScript } from "../helpers/spawn.ts";
import { waitFor } from "../helpers/wait.ts";
import { balanceOf, commandRow, stripeCalls } from "./command-harness.ts";
import { type Fleet, startFleet } from "./fleet-harness.ts";

// END-TO-END: a worker process killed (SIGKILL) after Stripe created the PaymentIntent and before
// its transaction committed. To stop it exactly there, the test holds an exclusive lock on the
// outbox table: the worker's transaction makes the Stripe call, writes the commands row, then
// waits on the outbox insert; the test sees that wait in pg_stat_activity and kills the process.
// RabbitMQ redelivers the unacked command to another worker; the dead transaction never commits
// (its backend rolls back once the lock is released and the socket is found gone), and the new
// attempt repeats the request with the same Idempotency-Key: Stripe replays the first answer. The
// emulator's webhook for the one PaymentIntent then credits the balance once, through the ingester.

let fleet: Fleet;
let billing: BillingClient;
let child: Spawned | undefined;

beforeAll(async () => {
  // no in-process worker: the first worker is the child process
  fleet = await startFleet({ workers: 0, web: true });
  billing = await connectBillingClient({ url: fleet.vhost.url, service: "e2e-crash", timeoutMs: 5000 });
});
afterAll(async () => {
  if (child !== undefined && child.child.exitCode === null) child.child.kill("SIGKILL");
  await billing?.close();
  await fleet?.stop();
});

describe("a worker killed between the Stripe call and the commit", () => {
  it("leaves exactly one PaymentIntent, one succeeded command and one credit", async () => {
    child = spawnScript("workers/worker.ts", { ...fleet.env, LOG_LEVEL: "info" });
    await child.waitForOutput("consuming billing_queue", 20_000);

    const admin = new pg.Client({ connectionString: fleet.database.url });
    await admin.connect();
    try {
      await admin.query("BEGIN");
      await admin.query("LOCK TABLE billing.outbox IN ACCESS EXCLUSIVE MODE");
      await billing.send({
        id: "crash-1",
        type: "deposit.create",
        accountId: "acct-k",
        amount: 3100,
        currency: "usd",
      });

      const creates = () =>
        stripeCalls(fleet.emulator, "/v1/payment_intents", "POST").filter(
          (r) => r.idempotencyKey === idempotencyKey("crash-1", "payment-intent"),
        );
      const blockedOnOutbox = async () => {
        await admin.query("SELECT pg_stat_clear_snapshot()");
        const { rows } = await admin.query(
          `SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'billing-worker'
              AND wait_event_type = 'Lock' AND query ILIKE '%outbox%'`,
        );
        return rows.length;
      };
      // the PaymentIntent's own webhooks may be blocked on the outbox too (the emulator delivers
      // them at once): once Stripe answered, any wait there means the command has not committed
      await waitFor(
        async () => creates().length === 1 && (await blockedOnOutbox()) >= 1,
        "the worker blocked after Stripe",
        15_000,
      );
      child.child.kill("SIGKILL");
      expect(await child.exited).toBe("SIGKILL");

      await fleet.addWorker();
      await admin.query("COMMIT");
    } finally {
      await admin.end();
    }
    await waitFor(
      async () => (await commandRow(fleet.db, "crash-1")) !== undefined,
      "the command row",
      15_000,
    );

    const creates = stripeCalls(fleet.emulator, "/v1/payment_intents", "POST");
    expect(creates.map((r) => [r.idempotencyKey, r.replayed])).toEqual([
      [idempotencyKey("crash-1", "payment-intent"), false],
      [idempotencyKey("crash-1", "payment-intent"), true],
    ]);
    expect(fleet.emulator.events().filter((e) => e.type === "payment_intent.created")).toHaveLength(1);
    expect(await commandRow(fleet.db, "crash-1")).toMatchObject({ status: "succeeded" });
    const outbox = await fleet.db
      .selectFrom("outbox")
      .select("type")
      .where("correlation_id", "=", "crash-1")
      .execute();
    expect(outbox).toEqual([{ type: "command.succeeded" }]);

    // the emulator's payment_intent.succeeded webhook → ingester → worker: credited once
    await waitFor(async () => (await balanceOf(fleet.db, "acct-k", "usd")) === 3100, "the credit", 15_000);
    await fleet.emulator.deliverPending();
    const credits = await fleet.db
      .selectFrom("ledger_entries")
      .selectAll()
      .where("account_id", "=", "acct-k")
      .execute();
    expect(credits).toMatchObject([{ kind: "deposit_credit", amount: 3100 }]);
  });
});
