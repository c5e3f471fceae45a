import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { names } from "../../lib/amqp/topology.ts";
import { PermanentError, TransientError } from "../../lib/domain/errors.ts";
import { batchSplits, messagesDuplicate } from "../../lib/metrics/registry.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { type TestVhost, testVhost } from "../helpers/vhost.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  dlqCollector,
  metricValue,
  type RawClient,
  rawClient,
  startTestConsumer,
  type TestConsumer,
  webhook,
} from "./consumer-fixtures.ts";
import {
  createEffectsTable,
  effectCounts,
  failing,
  recordEffect,
  type TestHandler,
} from "./test-appliers.ts";

// Stripe events that arrive together are applied up to 10 per transaction. Exactly once must hold
// as it does one by one: duplicates inside a batch, a failing message among good ones (the batch
// falls back to one transaction each), and commands that never join a batch.

let database: TestDatabase;
let vhost: TestVhost;
let client: RawClient;
let running: TestConsumer;
let takeDeadLetter: ReturnType<typeof dlqCollector>;
const batchSizes: number[] = [];

const handlers = new Map<string, TestHandler>();
const dispatch: TestHandler = async (message, trx) => {
  const prefix = message.messageId.replace(/^(evt|cmd)_/, "").split("-")[0] ?? "";
  await (handlers.get(prefix) ?? recordEffect)(message, trx);
};

beforeAll(async () => {
  database = await createTestDatabase();
  await createEffectsTable(database.db);
  vhost = testVhost();
  await vhost.create();
  running = await startTestConsumer(vhost.url, database.db, dispatch, {
    ladder: [50, 100],
    prefetch: 50,
    batchSize: 10,
    wrap: (appliers) => ({
      ...appliers,
      events: (messages) => {
        batchSizes.push(messages.length);
        return appliers.events(messages);
      },
    }),
  });
  client = await rawClient(vhost.url);
  takeDeadLetter = dlqCollector(client);
});
afterAll(async () => {
  await client?.close();
  await running?.stop();
  await database?.drop();
  await vhost?.delete();
});

async function effectsOf(prefix: string): Promise<Map<string, number>> {
  const all = await effectCounts(database.db);
  return new Map([...all].filter(([id]) => id.replace(/^(evt|cmd)_/, "").startsWith(`${prefix}-`)));
}

// Published on one channel without waiting between them, so they reach the consumer together.
async function publishAll(ids: readonly string[], type = "test.effect"): Promise<void> {
  await Promise.all(
    ids.map((id) => {
      const event = webhook(id, type);
      return client.publish(`stripe.${type}`, event.body, event.options);
    }),
  );
}

/** A valid balance.charge command (the test appliers record it instead of charging). */
function charge(id: string) {
  return { id, type: "balance.charge", accountId: "acct_1", amount: 100, currency: "usd", reason: "test" };
}

describe("batched apply", () => {
  it("applies 40 events and 10 duplicates of them once each, several per transaction", async () => {
    const before = batchSizes.length;
    const duplicatesBefore = await metricValue(messagesDuplicate, { type: "batch.dup" });
    const ids = Array.from({ length: 40 }, (_, i) => `evt_many-${i}`);
    // every fourth event twice, the copy right behind it (so often in the same batch)
    await publishAll(
      ids.flatMap((id, i) => (i % 4 === 0 ? [id, id] : [id])),
      "batch.dup",
    );
    await waitFor(async () => (await effectsOf("many")).size === 40, "40 events applied");
    await waitFor(
      async () => (await metricValue(messagesDuplicate, { type: "batch.dup" })) === duplicatesBefore + 10,
      "10 duplicates acked",
    );
    expect([...(await effectsOf("many")).values()].every((n) => n === 1)).toBe(true);
    const sizes = batchSizes.slice(before);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
  });

  it("dead-letters the one bad event of a batch and applies its neighbours once", async () => {
    const bad = failing(100, () => new PermanentError("unknown_account", "no account acc_404"));
    handlers.set("poison", bad);
    const ids = Array.from({ length: 9 }, (_, i) => `evt_mixed-${i}`);
    await publishAll([...ids.slice(0, 4), "evt_poison-1", ...ids.slice(4)]);
    const letter = await takeDeadLetter("evt_poison-1", (m) => m.properties.messageId === "evt_poison-1");
    expect(letter.properties.headers?.["x-error-kind"]).toBe("permanent");
    await waitFor(async () => (await effectsOf("mixed")).size === 9, "9 neighbours applied");
    expect([...(await effectsOf("mixed")).values()].every((n) => n === 1)).toBe(true);
    expect((await effectsOf("poison")).size).toBe(0);
  });

  // A poison message (here a bug's plain Error) fails its whole batch: the batch is split in halves
  // until it is alone, so its neighbours apply at the cost of a few more transactions, and it alone
  // goes to the retry ladder.
  it("isolates a poison message by splitting its batch, never costing its neighbours their effect", async () => {
    const splitsBefore = await metricValue(batchSplits, {});
    const poison = failing(100, () => new Error("constraint violated by a bug"));
    handlers.set("bisect", poison);
    const ids = Array.from({ length: 9 }, (_, i) => `evt_near-${i}`);
    await publishAll([...ids.slice(0, 5), "evt_bisect-1", ...ids.slice(5)]);
    await waitFor(async () => (await effectsOf("near")).size === 9, "9 neighbours applied");
    expect([...(await effectsOf("near")).values()].every((n) => n === 1)).toBe(true);
    const letter = await takeDeadLetter("evt_bisect-1", (m) => m.properties.messageId === "evt_bisect-1");
    expect(letter.properties.headers?.["x-error-kind"]).toBe("exhausted");
    expect(await metricValue(batchSplits, {})).toBeGreaterThan(splitsBefore);
    // each delivery of it costs at most log2(10) + 1 tries: 3 deliveries (first + 2 retries)
    expect(poison.calls("evt_bisect-1")).toBeLessThanOrEqual(3 * 5);
  });

  it("retries a transient failure on its own and still applies everything once", async () => {
    const flaky = failing(1, () => new TransientError("out_of_order", "not yet"));
    handlers.set("flaky", flaky);
    const ids = Array.from({ length: 6 }, (_, i) => `evt_calm-${i}`);
    await publishAll([...ids.slice(0, 3), "evt_flaky-1", ...ids.slice(3)]);
    await waitFor(
      async () => (await effectsOf("flaky")).get("evt_flaky-1") === 1,
      "flaky applied after a retry",
    );
    await waitFor(async () => (await effectsOf("calm")).size === 6, "neighbours applied");
    expect([...(await effectsOf("calm")).values()].every((n) => n === 1)).toBe(true);
    // once in its batch (which then fails as a whole), once in its half: the second try succeeds
    expect(flaky.calls("evt_flaky-1")).toBeGreaterThanOrEqual(2);
    expect(flaky.calls("evt_flaky-1")).toBeLessThanOrEqual(3);
  });

  // A later batch that commits first must not ack an earlier one still in its transaction (an
  // ack covering it would lose it on a crash; and acking it twice closes the channel, so its dead
  // letters would come back as redeliveries and be parked twice).
  it("acks a batch that commits first without covering an earlier one still running", async () => {
    const slow = failing(100, () => new PermanentError("unknown_account", "slow and bad"));
    handlers.set("slowbad", async (message, trx) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await slow(message, trx);
    });
    const slowIds = Array.from({ length: 4 }, (_, i) => `evt_slowbad-${i}`);
    const quickIds = Array.from({ length: 4 }, (_, i) => `evt_quick-${i}`);
    await publishAll(slowIds);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await publishAll(quickIds);
    await waitFor(async () => (await effectsOf("quick")).size === 4, "the later batch applied");
    for (const id of slowIds) await takeDeadLetter(id, (m) => m.properties.messageId === id);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const again = await client.drain(names.dlq);
    expect(again.map((m) => m.properties.messageId).filter((id) => slowIds.includes(id))).toEqual([]);
    // a batch (of up to 10, with the quick ones if they came together) that fails as a whole is
    // split in halves until each is alone: 10, 5, 3, 2, 1, at most 5 tries each
    expect(slowIds.map((id) => slow.calls(id)).every((n) => n >= 1 && n <= 5)).toBe(true);
    expect(await client.messageCount(names.queue)).toBe(0);
  });

  it("never batches commands", async () => {
    const before = batchSizes.length;
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        client.publish("command.balance.charge", JSON.stringify(charge(`cmd_cmd-${i}`)), {
          messageId: `cmd_cmd-${i}`,
          type: "balance.charge",
          contentType: "application/json",
          persistent: true,
        }),
      ),
    );
    await waitFor(async () => (await effectsOf("cmd")).size === 5, "commands applied");
    expect(batchSizes.length).toBe(before);
  });
});
