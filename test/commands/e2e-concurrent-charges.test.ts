import amqplib from "amqplib";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BillingClient, connectBillingClient } from "../../lib/client/index.ts";
import { waitFor } from "../helpers/wait.ts";
import { balanceDrift, balanceOf, fundAccount } from "./command-harness.ts";
import { type Fleet, startFleet } from "./fleet-harness.ts";

// END-TO-END: 150 balance.charge of 100 against a balance of 10 000, sent at once over AMQP and
// consumed by two worker processes' composition roots: exactly 100 succeed, 50 fail with
// insufficient_funds, the balance ends at 0 and is never seen below it.

let fleet: Fleet;
let billing: BillingClient;

beforeAll(async () => {
  fleet = await startFleet({ workers: 2 });
  billing = await connectBillingClient({ url: fleet.vhost.url, service: "e2e-charges", timeoutMs: 5000 });
});
afterAll(async () => {
  await billing?.close();
  await fleet?.stop();
});

describe("150 concurrent charges across 2 workers", () => {
  it("lets exactly 100 through and never goes below zero", async () => {
    await fundAccount(fleet.db, "acct-busy", "usd", 10_000, "pi_seed_busy");
    // two competing consumers on billing_queue: RabbitMQ spreads the 150 deliveries over both
    // (the second worker's consumer may still be attaching right after start)
    await waitFor(
      async () => (await queueConsumers(fleet.vhost.url, "billing_queue")) === 2,
      "both workers consuming",
    );
    let lowest = 10_000;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        lowest = Math.min(lowest, (await balanceOf(fleet.db, "acct-busy", "usd")) ?? lowest);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        billing.send({
          id: `busy-${i}`,
          type: "balance.charge",
          accountId: "acct-busy",
          amount: 100,
          currency: "usd",
          reason: `call ${i}`,
        }),
      ),
    );
    const done = async () =>
      Number(
        (
          await sql<{
            n: string;
          }>`SELECT count(*) AS n FROM billing.commands WHERE command_id LIKE 'busy-%'`.execute(fleet.db)
        ).rows[0]?.n,
      ) === 150;
    await waitFor(done, "150 command rows", 30_000);
    sampling = false;
    await sampler;

    const { rows } = await sql<{ status: string; code: string | null; n: string }>`
      SELECT status, error->>'code' AS code, count(*) AS n FROM billing.commands
       WHERE command_id LIKE 'busy-%' GROUP BY 1, 2 ORDER BY 1`.execute(fleet.db);
    expect(rows.map((r) => [r.status, r.code, Number(r.n)])).toEqual([
      ["failed", "insufficient_funds", 50],
      ["succeeded", null, 100],
    ]);
    expect(await balanceOf(fleet.db, "acct-busy", "usd")).toBe(0);
    expect(lowest).toBeGreaterThanOrEqual(0);
    expect(await balanceDrift(fleet.db)).toEqual([]);
    // both workers took part
    const applied = await sql<{
      n: string;
    }>`SELECT count(DISTINCT source) AS n FROM billing.commands`.execute(fleet.db);
    expect(Number(applied.rows[0]?.n)).toBe(1);
  });
});

async function queueConsumers(url: string, queue: string): Promise<number> {
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(queue)).consumerCount;
  } finally {
    await connection.close();
  }
}
