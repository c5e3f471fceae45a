import type { Message } from "amqplib";
import { describe, expect, it } from "vitest";
import { deliveryFacts, parseDelivery as parseTrusted } from "../../lib/amqp/inbound-message.ts";
import { PermanentError } from "../../lib/domain/errors.ts";
import { delivery } from "./deliveries.ts";

// How a delivery becomes a message: the attempt count is our x-attempts header only (never
// x-death), the first routing key survives a trip through a retry queue, and a message that can
// never apply (no id, not JSON) is refused as permanent. Every delivery here comes from a trusted
// publisher (test/amqp/publisher-trust.test.ts covers the others).

const ingester = "billing-web";
const parseDelivery = (delivery: Message) => parseTrusted(delivery, new Set([ingester]));

describe("parseDelivery", () => {
  it("reads a webhook message as the ingester publishes it", () => {
    const message = parseDelivery(
      delivery('{"id":"evt_1"}', {
        messageId: "evt_1",
        type: "invoice.paid",
        userId: ingester,
        headers: { "x-source": "stripe" },
      }),
    );
    expect(message).toEqual({
      id: "evt_1",
      type: "invoice.paid",
      routingKey: "stripe.invoice.paid",
      body: Buffer.from('{"id":"evt_1"}'),
      headers: { "x-source": "stripe" },
      source: "stripe",
      attempt: 0,
    });
  });

  it("takes the routing key from x-routing-key and the attempt from x-attempts after a retry", () => {
    const retried = delivery(
      "{}",
      {
        messageId: "evt_2",
        userId: ingester,
        headers: {
          "x-attempts": 2,
          "x-routing-key": "stripe.customer.created",
          // the broker's own count says 5: it is ignored
          "x-death": [{ count: 5, reason: "expired", queue: "billing_queue.retry.50" }],
        },
      },
      { exchange: "", routingKey: "billing_queue" },
    );
    expect(parseDelivery(retried)).toMatchObject({
      routingKey: "stripe.customer.created",
      type: "customer.created",
      attempt: 2,
    });
  });

  it.each([
    ["no messageId", delivery("{}", { userId: ingester })],
    ["an empty messageId", delivery("{}", { messageId: "", userId: ingester })],
    ["a body that is not JSON", delivery("{not json", { messageId: "m", userId: ingester })],
    ["a JSON array body", delivery("[1]", { messageId: "m", userId: ingester })],
    ["a JSON string body", delivery('"x"', { messageId: "m", userId: ingester })],
    ["an empty body", delivery("", { messageId: "m", userId: ingester })],
  ])("refuses %s as permanent", (_, bad) => {
    expect(() => parseDelivery(bad)).toThrow(PermanentError);
  });
});

describe("deliveryFacts", () => {
  it("describes even an invalid delivery, with the type derived from the routing key", () => {
    expect(
      deliveryFacts(
        delivery("x", { headers: { "x-attempts": "3" } }, { routingKey: "command.deposit.create" }),
      ),
    ).toEqual({
      messageId: undefined,
      type: "deposit.create",
      routingKey: "command.deposit.create",
      attempt: 3,
    });
    expect(deliveryFacts(delivery("x", { headers: { "x-attempts": "junk" } })).attempt).toBe(0);
  });
});
