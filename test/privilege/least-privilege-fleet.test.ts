import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { names } from "../../lib/amqp/topology.ts";
import { type BillingClient, type CommandResult, connectBillingClient } from "../../lib/client/index.ts";
import type { Running } from "../../lib/lifecycle.ts";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";
import { startRelay } from "../../workers/relay.ts";
import { release } from "../../workers/release.ts";
import { startWeb } from "../../workers/web.ts";
import { startWorker } from "../../workers/worker.ts";
import { type BrokerUser, createBrokerUsers } from "../helpers/broker-users.ts";
import { testConfig, testLogger, testSecrets } from "../helpers/config.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { createLoginRoles, type LoginRole } from "../helpers/login-roles.ts";
import { waitFor } from "../helpers/wait.ts";
import { runOps } from "../ops/run-cli.ts";
import { chargeRefundedOf, paymentSucceeded, publishAs, webhookOptions } from "./broker-fixtures.ts";

// ACCEPTANCE (issue 15): the fleet with every process on its own PostgreSQL login role (granted
// billing_app) and its own broker user (with exactly `billing-ops broker-permissions`' grants),
// doing real work; and what a command client, or any other holder of broker credentials, can no
// longer do: publish a Stripe event the worker applies.

const services = useTestServices();
const log = testLogger("least-privilege");
const commandToken = "tok_privilege_0123456789";
const retryDelaysMs = "100";

type UserKey = "web" | "worker" | "relay" | "ops" | "client" | "rogueWeb";
let users: Record<UserKey, BrokerUser> & { deleteAll(): Promise<void> };
let logins: Record<"worker" | "relay" | "ops", LoginRole> & { dropAll(): Promise<void> };
let emulator: StripeEmulator;
let billing: BillingClient;
const results: CommandResult[] = [];
const running: Running[] = [];
let webUrl: string;

beforeAll(async () => {
  [users, logins] = await Promise.all([
    createBrokerUsers(services.vhost.name, {
      web: { roles: ["web"] },
      worker: { roles: ["worker"] },
      relay: { roles: ["relay"] },
      ops: { roles: ["ops"] },
      client: { roles: ["client", "listener"] },
      // may publish stripe.* (a second ingester, say) but is not among STRIPE_EVENT_PUBLISHERS
      rogueWeb: { roles: ["web"] },
    }),
    createLoginRoles({ worker: ["billing_app"], relay: ["billing_app"], ops: ["billing_app"] }),
  ]);
  const database = services.database.name;
  // release runs as the owners: the schema owner and a broker user that may configure
  await release(
    testConfig("release", {
      databaseUrl: services.database.url,
      amqpUrl: services.vhost.url,
      RETRY_DELAYS_MS: retryDelaysMs,
    }),
    log,
  );
  const web = await startWeb(
    testConfig("web", {
      amqpUrl: users.web.url,
      RETRY_DELAYS_MS: retryDelaysMs,
      COMMAND_TOKENS: `privilege-test:${commandToken}:*`,
    }),
    log,
  );
  running.push(web);
  webUrl = `http://127.0.0.1:${web.port}`;
  emulator = await startStripeEmulator({
    webhookSecret: testSecrets.webhookSecret,
    webhookUrl: `${webUrl}/webhooks/stripe`,
  });
  running.push(
    await startWorker(
      testConfig("worker", {
        databaseUrl: logins.worker.urlOf(database),
        amqpUrl: users.worker.url,
        RETRY_DELAYS_MS: retryDelaysMs,
        STRIPE_API_URL: emulator.url,
        STRIPE_EVENT_PUBLISHERS: `${users.web.name},${users.ops.name}`,
      }),
      log,
    ),
  );
  running.push(
    await startRelay(
      testConfig("relay", { databaseUrl: logins.relay.urlOf(database), amqpUrl: users.relay.url }),
      log,
      { idleMaxMs: 100 },
    ),
  );
  await waitFor(async () => (await fetch(`${webUrl}/readyz`)).status === 200, "the ingester ready", 10_000);
  billing = await connectBillingClient({ url: users.client.url, service: "privilege-shop", timeoutMs: 5000 });
  await billing.onResult((result) => void results.push(result), { queue: `${users.client.name}.results` });
}, 120_000);

afterAll(async () => {
  await billing?.close();
  await Promise.allSettled(running.map((r) => r.stop()));
  await emulator?.close();
  await Promise.allSettled([users?.deleteAll(), logins?.dropAll()]);
}, 120_000);

const db = () => services.database.db;
const balanceOf = async (accountId: string) =>
  (
    await db()
      .selectFrom("accounts")
      .select("balance")
      .where("account_id", "=", accountId)
      .where("currency", "=", "usd")
      .executeTakeFirst()
  )?.balance;
const ledgerOf = (accountId: string) =>
  db().selectFrom("ledger_entries").select(["kind", "amount"]).where("account_id", "=", accountId).execute();
const deadLetter = (messageId: string) =>
  db()
    .selectFrom("dead_letters")
    .select(["id", "error", "error_kind", "headers", "status"])
    .where("message_id", "=", messageId)
    .orderBy("id", "desc")
    .executeTakeFirst();
const resultOf = (commandId: string) => results.find((r) => r.commandId === commandId);

/** A command through the client, seen through to its result: everything sent before it was taken. */
async function barrier(id: string): Promise<void> {
  await billing.send({ id, type: "customer.ensure", accountId: `acct-${id}` });
  await waitFor(() => resultOf(id) !== undefined, `the result of ${id}`, 15_000);
}

describe("every process on its own login role and broker user", () => {
  it("runs a deposit and a refund end to end, with results back to the client", async () => {
    await billing.send({
      id: "lp-dep",
      type: "deposit.create",
      accountId: "acct-lp",
      amount: 2500,
      currency: "usd",
    });
    await waitFor(async () => (await balanceOf("acct-lp")) === 2500, "the deposit credited", 20_000);
    await waitFor(() => resultOf("lp-dep")?.status === "succeeded", "the deposit's result", 10_000);
    const paymentIntentId = String(
      (resultOf("lp-dep")?.data as { paymentIntentId?: string } | undefined)?.paymentIntentId,
    );

    await billing.send({ id: "lp-ref", type: "payment.refund", paymentIntentId, amount: 1000 });
    await waitFor(async () => (await balanceOf("acct-lp")) === 1500, "the refund debited", 20_000);
    expect(await ledgerOf("acct-lp")).toEqual(
      expect.arrayContaining([
        { kind: "deposit_credit", amount: 2500 },
        { kind: "refund_debit", amount: -1000 },
      ]),
    );

    // and a command over HTTP, through the ingester's broker user
    const response = await fetch(`${webUrl}/v1/commands`, {
      method: "POST",
      headers: { authorization: `Bearer ${commandToken}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "lp-http", type: "customer.ensure", accountId: "acct-lp-http" }),
    });
    expect(response.status).toBe(202);
    await waitFor(() => resultOf("lp-http")?.status === "succeeded", "the HTTP command's result", 15_000);
  });
});

describe("a command client's broker user", () => {
  it("is refused by the broker when it publishes a Stripe event, and nothing is applied", async () => {
    const forged = paymentSucceeded("evt_forged_client", "pi_forged_client", "acct-forged-client", 1_000_000);
    const outcome = await publishAs(
      users.client.url,
      names.exchange,
      "stripe.payment_intent.succeeded",
      JSON.stringify(forged),
      webhookOptions(forged, users.client.name),
    );
    expect(outcome).toMatch(
      /403 \(ACCESS-REFUSED\).*access to topic 'stripe\.payment_intent\.succeeded' in exchange 'billing'.*refused for user/,
    );
    await barrier("lp-barrier-1");
    expect(await ledgerOf("acct-forged-client")).toEqual([]);
    expect(await deadLetter("evt_forged_client")).toBeUndefined();
  });

  it("cannot smuggle one in as a command through x-routing-key: it is parked as untrusted", async () => {
    const forged = paymentSucceeded("evt_smuggled", "pi_smuggled", "acct-smuggled", 1_000_000);
    const outcome = await publishAs(
      users.client.url,
      names.exchange,
      "command.deposit.create",
      JSON.stringify(forged),
      {
        ...webhookOptions(forged, users.client.name),
        headers: { "x-routing-key": "stripe.payment_intent.succeeded" },
      },
    );
    expect(outcome).toBe("confirmed");
    await waitFor(async () => (await deadLetter("evt_smuggled")) !== undefined, "the smuggled event parked");
    expect((await deadLetter("evt_smuggled"))?.error).toContain(
      `published by broker user "${users.client.name}"`,
    );
    expect(await ledgerOf("acct-smuggled")).toEqual([]);
  });
});

describe("a Stripe event from a user that may publish there but is not trusted", () => {
  it("is dead-lettered with its reason and not applied", async () => {
    const forged = paymentSucceeded("evt_rogue", "pi_rogue", "acct-rogue", 1_000_000);
    const outcome = await publishAs(
      users.rogueWeb.url,
      names.exchange,
      "stripe.payment_intent.succeeded",
      JSON.stringify(forged),
      webhookOptions(forged, users.rogueWeb.name),
    );
    expect(outcome).toBe("confirmed");
    await waitFor(async () => (await deadLetter("evt_rogue")) !== undefined, "the untrusted event parked");
    const letter = await deadLetter("evt_rogue");
    expect(letter?.error_kind).toBe("permanent");
    expect(letter?.error).toBe(
      `untrusted Stripe event: it was published by broker user "${users.rogueWeb.name}", not one of the ` +
        `trusted publishers (STRIPE_EVENT_PUBLISHERS: ${[users.ops.name, users.web.name, users.worker.name].sort().join(", ")})`,
    );
    expect(letter?.headers).toMatchObject({
      "x-error-code": "untrusted_publisher",
      "x-original-user-id": users.rogueWeb.name,
    });
    expect(await ledgerOf("acct-rogue")).toEqual([]);
    expect(
      await db().selectFrom("stripe_events").select("event_id").where("event_id", "=", "evt_rogue").execute(),
    ).toEqual([]);
  });

  it("is refused by the broker when it claims the ingester's user_id", async () => {
    const forged = paymentSucceeded("evt_impostor", "pi_impostor", "acct-impostor", 1_000_000);
    const outcome = await publishAs(
      users.rogueWeb.url,
      names.exchange,
      "stripe.payment_intent.succeeded",
      JSON.stringify(forged),
      webhookOptions(forged, users.web.name),
    );
    expect(outcome).toMatch(
      /406 \(PRECONDITION-FAILED\).*user_id property set to '.*' but authenticated user was/,
    );
    await barrier("lp-barrier-2");
    expect(await ledgerOf("acct-impostor")).toEqual([]);
    expect(await deadLetter("evt_impostor")).toBeUndefined();
  });

  it("stays untrusted when ops replays it", async () => {
    const parked = await deadLetter("evt_rogue");
    const replay = await runOps(["dlq", "replay", "--id", String(parked?.id)], opsEnv());
    expect(replay.code, replay.err).toBe(0);
    await waitFor(
      async () => (await deadLetter("evt_rogue"))?.id !== parked?.id,
      "the replayed untrusted event parked again",
    );
    const again = await deadLetter("evt_rogue");
    expect(again?.error).toContain(`was first published by broker user "${users.rogueWeb.name}"`);
    expect(await ledgerOf("acct-rogue")).toEqual([]);
  });
});

const opsEnv = () => ({
  DATABASE_URL: logins.ops.urlOf(services.database.name),
  AMQP_URL: users.ops.url,
  RETRY_DELAYS_MS: retryDelaysMs,
});

describe("retries and replays under least privilege", () => {
  // An early refund goes round the retry ladder (the worker's copies carry its own user_id), is
  // parked as exhausted, and ops replays it once the payment is in: the broker takes the replay
  // (its user_id is the ops user's) and the worker trusts it (both users trusted).
  it("keep a trusted Stripe event trusted, and apply it", async () => {
    const refund = chargeRefundedOf("evt_lp_refund", "pi_lp_late", 3000, 500);
    expect(
      await publishAs(
        users.web.url,
        names.exchange,
        "stripe.charge.refunded",
        JSON.stringify(refund),
        webhookOptions(refund, users.web.name),
      ),
    ).toBe("confirmed");
    await waitFor(
      async () => (await deadLetter("evt_lp_refund")) !== undefined,
      "the early refund parked",
      15_000,
    );
    const letter = await deadLetter("evt_lp_refund");
    expect(letter?.error_kind).toBe("exhausted");
    expect(letter?.headers).toMatchObject({ "x-attempts": 1, "x-original-user-id": users.web.name });

    const payment = paymentSucceeded("evt_lp_payment", "pi_lp_late", "acct-lp-late", 3000);
    await publishAs(
      users.web.url,
      names.exchange,
      "stripe.payment_intent.succeeded",
      JSON.stringify(payment),
      webhookOptions(payment, users.web.name),
    );
    await waitFor(async () => (await balanceOf("acct-lp-late")) === 3000, "the payment credited");

    const replay = await runOps(["dlq", "replay", "--id", String(letter?.id)], opsEnv());
    expect(replay.code, replay.err).toBe(0);
    await waitFor(async () => (await balanceOf("acct-lp-late")) === 2500, "the replayed refund debited");
    expect((await deadLetter("evt_lp_refund"))?.status).toBe("replayed");
  });
});
