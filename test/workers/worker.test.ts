import { expect, it } from "vitest";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { stopDeadlineMs } from "../../lib/lifecycle.ts";
import { startWorker } from "../../workers/worker.ts";
import { testConfig, testLogger } from "../helpers/config.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { waitFor } from "../helpers/wait.ts";
import { rawClient } from "../worker/consumer-fixtures.ts";

// The worker as its composition root wires it: the real dispatch behind the consumer, the DLQ
// archiver beside it, and a stop() that fits lifecycle's deadline.

const services = useTestServices();

function stripeEvent(id: string, type: string): string {
  return JSON.stringify({ id, object: "event", type, created: 1_750_000_000, data: { object: { id: "x" } } });
}

it("applies a Stripe event through the real dispatch, archives what cannot apply, and stops in time", async () => {
  const config = testConfig("worker", {
    databaseUrl: services.database.url,
    amqpUrl: services.vhost.url,
    RETRY_DELAYS_MS: "50",
  });
  const worker = await startWorker(config, testLogger("worker"));
  let stopped = false;
  try {
    const inbox = () =>
      services.database.db
        .selectFrom("processed_messages")
        .select("message_id")
        .where("message_id", "=", "stripe:evt_wired");
    // as `release` does before a deploy, so that the first publish routes
    await declareTopologyOnce(services.vhost.url, config.retryDelaysMs);
    const client = await rawClient(services.vhost.url);
    try {
      await client.publish("stripe.charge.updated", stripeEvent("evt_wired", "charge.updated"), {
        messageId: "evt_wired",
        type: "charge.updated",
        headers: { "x-source": "stripe" },
      });
      await waitFor(async () => (await inbox().executeTakeFirst()) !== undefined, "the event applied");
      // the audit row proves the real dispatch ran
      const audit = await services.database.db
        .selectFrom("stripe_events")
        .select(["event_id", "type"])
        .where("event_id", "=", "evt_wired")
        .executeTakeFirst();
      expect(audit).toEqual({ event_id: "evt_wired", type: "charge.updated" });

      // Not a Stripe event: permanent, dead-lettered by the consumer, archived by the archiver.
      await client.publish("stripe.invoice.paid", '{"object":"nonsense"}', {
        messageId: "evt_nonsense",
        type: "invoice.paid",
      });
      await waitFor(async () => {
        const row = await services.database.db
          .selectFrom("dead_letters")
          .select("error_kind")
          .where("message_id", "=", "evt_nonsense")
          .executeTakeFirst();
        return row?.error_kind === "permanent";
      }, "the invalid event archived as a dead letter");
    } finally {
      await client.close();
    }

    const started = Date.now();
    await worker.stop();
    stopped = true;
    expect(Date.now() - started).toBeLessThan(stopDeadlineMs);
    await worker.stop(); // idempotent
  } finally {
    if (!stopped) await worker.stop();
  }
});
