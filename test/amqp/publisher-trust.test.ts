import { describe, expect, it } from "vitest";
import { readDelivery } from "../../lib/amqp/inbound-message.ts";
import { invoicePaid } from "../domain/stripe-fixtures.ts";
import { delivery } from "./deliveries.ts";

// readDelivery refuses a Stripe event RabbitMQ cannot vouch for, as a permanent error (the
// consumer dead-letters it at once with the reason), judged on the routing key the worker reads it
// by: x-routing-key, which any publisher may set, cannot smuggle one in as a command. The body is
// not even parsed: nothing in it is believed unless a trusted user sent it.

const trusted = new Set(["billing-web"]);
const event = JSON.stringify(invoicePaid());
const eventId = String(invoicePaid().id);

describe("readDelivery and the publisher of a Stripe event", () => {
  it("takes one the ingester's user published", () => {
    const read = readDelivery(delivery(event, { messageId: eventId, userId: "billing-web" }), trusted);
    expect(read.message?.messageId).toBe(eventId);
  });

  it.each([
    ["without a user_id", delivery(event, { messageId: eventId })],
    ["from a command client", delivery(event, { messageId: eventId, userId: "shop" })],
    [
      "sent as a command with x-routing-key naming a Stripe event",
      delivery(
        event,
        { messageId: eventId, userId: "shop", headers: { "x-routing-key": "stripe.invoice.paid" } },
        { routingKey: "command.deposit.create" },
      ),
    ],
    [
      "replayed from a letter first published without a user_id",
      delivery(event, { messageId: eventId, userId: "billing-web", headers: { "x-original-user-id": "" } }),
    ],
    ["with a body that is not even JSON", delivery("{not json", { messageId: eventId, userId: "shop" })],
  ])("refuses one %s as untrusted_publisher", (_, bad) => {
    expect(readDelivery(bad, trusted).refusal).toMatchObject({
      kind: "permanent",
      code: "untrusted_publisher",
    });
  });

  it("lets any service send a command", () => {
    const command = delivery(
      JSON.stringify({ id: "c1", type: "customer.ensure", accountId: "acct_1" }),
      { messageId: "c1", userId: "shop" },
      { routingKey: "command.customer.ensure" },
    );
    expect(readDelivery(command, trusted).message?.kind).toBe("command");
  });
});
