import { describe, expect, it } from "vitest";
import { parseDelivery } from "../../lib/amqp/inbound-message.ts";
import { delivery } from "./deliveries.ts";

// parseDelivery refuses a Stripe event RabbitMQ cannot vouch for, as a permanent error (the
// consumer dead-letters it at once with the reason), judged on the routing key the worker
// dispatches on: x-routing-key, which any publisher may set, cannot smuggle one in as a command.

const trusted = new Set(["billing-web"]);
const event = '{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}';

describe("parseDelivery and the publisher of a Stripe event", () => {
  it("takes one the ingester's user published", () => {
    const message = parseDelivery(delivery(event, { messageId: "evt_1", userId: "billing-web" }), trusted);
    expect(message.id).toBe("evt_1");
  });

  it.each([
    ["without a user_id", delivery(event, { messageId: "evt_1" })],
    ["from a command client", delivery(event, { messageId: "evt_1", userId: "shop" })],
    [
      "sent as a command with x-routing-key naming a Stripe event",
      delivery(
        event,
        {
          messageId: "evt_1",
          userId: "shop",
          headers: { "x-routing-key": "stripe.payment_intent.succeeded" },
        },
        { routingKey: "command.deposit.create" },
      ),
    ],
    [
      "replayed from a letter first published without a user_id",
      delivery(event, { messageId: "evt_1", userId: "billing-web", headers: { "x-original-user-id": "" } }),
    ],
  ])("refuses one %s as untrusted_publisher", (_, bad) => {
    expect(() => parseDelivery(bad, trusted)).toThrow(
      expect.objectContaining({ kind: "permanent", code: "untrusted_publisher" }),
    );
  });

  it("lets any service send a command", () => {
    const command = delivery(
      '{"id":"c1"}',
      { messageId: "c1", userId: "shop" },
      { routingKey: "command.deposit.create" },
    );
    expect(parseDelivery(command, trusted).routingKey).toBe("command.deposit.create");
  });
});
