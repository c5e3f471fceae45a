import { describe, expect, it } from "vitest";
import { replayMessage } from "../../lib/ops/replay-message.ts";

const now = new Date("2025-01-02T03:04:05.678Z");

const letter = {
  id: 42,
  routing_key: "stripe.invoice.paid",
  body: Buffer.from([0x7b, 0x7d, 0x20]),
  properties: {
    contentType: "application/json",
    contentEncoding: "utf-8",
    deliveryMode: 2,
    priority: 3,
    correlationId: "c-1",
    replyTo: "r",
    expiration: "60000",
    messageId: "evt_1",
    timestamp: 1,
    type: "invoice.paid",
    appId: "billing-web",
    userId: "guest",
    clusterId: "x",
    headers: { ignored: "the headers column is the one used" },
  },
  headers: {
    "x-source": "stripe",
    "x-custom": { nested: [1, 2] },
    "x-error": "boom",
    "x-error-kind": "permanent",
    "x-error-code": "unknown_account",
    "x-last-error": "stripe unavailable",
    "x-attempts": 5,
    "x-failed-at": "2025-01-01T00:00:00.000Z",
    "x-death": [{ count: 10 }],
    "x-first-death-reason": "delivery_limit",
    "x-last-death-queue": "billing_queue",
    "x-delivery-count": 10,
  },
};

describe("replayMessage", () => {
  // The replay is the original message: same bytes, routing key and properties, fresh attempts.
  it("keeps body, routing key and properties; drops failure and broker headers; adds x-replayed-from", () => {
    const message = replayMessage(letter, now, "billing-ops");
    expect(message.exchange).toBe("billing");
    expect(message.routingKey).toBe("stripe.invoice.paid");
    expect(message.body).toBe(letter.body);
    expect(message.options).toEqual({
      contentType: "application/json",
      contentEncoding: "utf-8",
      deliveryMode: 2,
      priority: 3,
      correlationId: "c-1",
      replyTo: "r",
      expiration: "60000",
      messageId: "evt_1",
      timestamp: Math.floor(now.getTime() / 1000),
      type: "invoice.paid",
      appId: "billing-web",
      // the replaying user publishes it (RabbitMQ refuses any other); the first publisher is kept
      userId: "billing-ops",
      headers: {
        "x-source": "stripe",
        "x-custom": { nested: [1, 2] },
        "x-replayed-from": "42",
        "x-original-user-id": "guest",
      },
    });
  });

  // Trust is never gained by a replay: the first publisher recorded by the worker's copy stays,
  // even when it is "" (published without a user_id) and the letter's own user_id is the worker's.
  it("keeps the first publisher the worker's copy recorded", () => {
    const parked = {
      ...letter,
      headers: { "x-original-user-id": "" },
      properties: { userId: "billing-worker" },
    };
    expect(replayMessage(parked, now, "billing-ops").options.headers).toEqual({
      "x-replayed-from": "42",
      "x-original-user-id": "",
    });
  });

  // A message that went through a retry queue was delivered with the queue's name as routing key.
  it("takes the routing key from x-routing-key when the message carries it", () => {
    const retried = {
      ...letter,
      routing_key: "billing_queue",
      headers: { "x-routing-key": "command.deposit.create" },
    };
    const message = replayMessage(retried, now, "billing-ops");
    expect(message.routingKey).toBe("command.deposit.create");
    expect(message.options.headers).toEqual({ "x-replayed-from": "42", "x-original-user-id": "guest" });
  });

  it("publishes persistent when the original said nothing, and skips properties of the wrong type", () => {
    const message = replayMessage(
      { ...letter, properties: { messageId: 7, type: "t", priority: "high", expiration: 1000 }, headers: {} },
      now,
      "billing-ops",
    );
    // archived before user ids were kept: no first publisher to record, the replaying user vouches
    expect(message.options).toEqual({
      userId: "billing-ops",
      deliveryMode: 2,
      timestamp: Math.floor(now.getTime() / 1000),
      type: "t",
      expiration: 1000,
      headers: { "x-replayed-from": "42" },
    });
  });
});
