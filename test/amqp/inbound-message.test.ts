import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deliveryFacts, inboxKey, readDelivery, readMessage } from "../../lib/amqp/inbound-message.ts";
import { PermanentError } from "../../lib/domain/errors.ts";
import { invoicePaid } from "../domain/stripe-fixtures.ts";
import { delivery } from "./deliveries.ts";

// How a delivery becomes a typed message, once: a Stripe event with the change it asks for, or a
// valid command. The attempt count is our x-attempts header only (never x-death), the first
// routing key survives a trip through a retry queue, and what can never apply is refused as
// permanent before any transaction.

const event = invoicePaid();
const eventBody = JSON.stringify(event);
const eventId = String(event.id);

function refusal(read: ReturnType<typeof readDelivery>): PermanentError {
  if (read.refusal === undefined) throw new Error("expected a refusal");
  return read.refusal;
}

describe("readDelivery", () => {
  it("reads a webhook as the ingester publishes it, with the change its event asks for", () => {
    const read = readDelivery(
      delivery(eventBody, {
        messageId: eventId,
        type: "invoice.paid",
        userId: "ingester",
        headers: { "x-source": "stripe" },
      }),
      new Set(["ingester"]),
    );
    expect(read.refusal).toBeUndefined();
    expect(read.message).toMatchObject({
      kind: "stripe-event",
      messageId: eventId,
      type: "invoice.paid",
      routingKey: "stripe.invoice.paid",
      source: "stripe",
      userId: "ingester",
      attempt: 0,
      event: { id: eventId, type: "invoice.paid" },
      change: { family: "invoice", facts: { status: "paid" } },
    });
    // the envelope is kept, not the parsed object: a batch in flight holds no parsed bodies
    if (read.message?.kind !== "stripe-event") throw new Error("expected a Stripe event");
    expect(Object.keys(read.message.event).sort()).toEqual(["created", "id", "livemode", "type"]);
  });

  it("takes the routing key from x-routing-key and the attempt from x-attempts after a retry", () => {
    const retried = delivery(
      eventBody,
      {
        messageId: eventId,
        headers: {
          "x-attempts": 2,
          "x-routing-key": "stripe.invoice.paid",
          // the broker's own count says 5: it is ignored
          "x-death": [{ count: 5, reason: "expired", queue: "billing_queue.retry.50" }],
        },
      },
      { exchange: "", routingKey: "billing_queue" },
    );
    expect(readDelivery(retried, "any").message).toMatchObject({
      routingKey: "stripe.invoice.paid",
      type: "invoice.paid",
      attempt: 2,
    });
  });

  it("reads a command, validated, and keys it by id and body", () => {
    const body = JSON.stringify({ id: "cmd_1", type: "customer.ensure", accountId: "acct_1" });
    const read = readDelivery(
      delivery(
        body,
        { messageId: "cmd_1", headers: { "x-source": "shop" } },
        { routingKey: "command.customer.ensure" },
      ),
      // any service may send a command: the trusted publishers are about Stripe events only
      new Set(["ingester"]),
    );
    expect(read.message).toMatchObject({
      kind: "command",
      source: "shop",
      command: { id: "cmd_1", type: "customer.ensure", accountId: "acct_1" },
    });
    const sha = createHash("sha256").update(body).digest("hex");
    if (read.message === undefined) throw new Error("unreachable");
    expect(inboxKey(read.message)).toBe(`command:cmd_1:${sha}`);
  });

  it.each([
    ["no messageId", delivery(eventBody, {}), "invalid_message", /no messageId/],
    ["an empty messageId", delivery(eventBody, { messageId: "" }), "invalid_message", /no messageId/],
    [
      "a body that is not JSON",
      delivery("{not json", { messageId: eventId }),
      "invalid_event",
      /not UTF-8 JSON/,
    ],
    ["a JSON array body", delivery("[1]", { messageId: eventId }), "invalid_event", /not a JSON object/],
    ["an empty body", delivery("", { messageId: eventId }), "invalid_event", /not UTF-8 JSON/],
    [
      "an event that is not the message's",
      delivery(eventBody, { messageId: "evt_other" }),
      "invalid_message",
      /not the id of the Stripe event/,
    ],
    [
      "an applied type missing a field its family needs",
      delivery(JSON.stringify({ ...event, data: { object: { object: "invoice", id: "in_1" } } }), {
        messageId: eventId,
      }),
      "invalid_event",
      /invoice\.paid/,
    ],
    [
      "a routing key of neither family",
      delivery(eventBody, { messageId: eventId }, { routingKey: "other.thing" }),
      "invalid_message",
      /neither stripe\.\* nor command\.\*/,
    ],
    [
      "a command that is not JSON",
      delivery("{", { messageId: "cmd_x" }, { routingKey: "command.customer.ensure" }),
      "invalid_command",
      /not JSON/,
    ],
    [
      "a command under another type's routing key",
      delivery(
        JSON.stringify({ id: "cmd_y", type: "customer.ensure", accountId: "a" }),
        { messageId: "cmd_y" },
        {
          routingKey: "command.deposit.create",
        },
      ),
      "invalid_command",
      /does not match/,
    ],
  ])("refuses %s as permanent", (_, bad, code, message) => {
    const error = refusal(readDelivery(bad, "any"));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it("keys a Stripe event by its id alone", () => {
    const read = readMessage(
      { messageId: eventId, routingKey: "stripe.invoice.paid", headers: {}, body: Buffer.from(eventBody) },
      "any",
    );
    if (read.message === undefined) throw new Error("unreachable");
    expect(inboxKey(read.message)).toBe(`stripe:${eventId}`);
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
      source: undefined,
      userId: undefined,
    });
    expect(deliveryFacts(delivery("x", { headers: { "x-attempts": "junk" } })).attempt).toBe(0);
  });
});
