import { describe, expect, it } from "vitest";
import { deadLetterCopy, retryCopy, returnCopy, returnCount } from "../../lib/amqp/failure-copies.ts";
import { PermanentError, TransientError } from "../../lib/domain/errors.ts";
import { delivery } from "./deliveries.ts";

// The copies that replace a failed delivery keep its body and properties (so a replay is the
// original message) and add the Contract's headers; x-attempts is ours and only grows on a retry.
// The user_id is the worker's own (RabbitMQ refuses any other on its connection) and the first
// publisher's travels in x-original-user-id, so trust survives a retry and cannot be gained by one.

const original = delivery(
  '{"id":"evt_1"}',
  {
    messageId: "evt_1",
    type: "invoice.paid",
    contentType: "application/json",
    timestamp: 1_700_000_000,
    correlationId: "corr",
    appId: "ingester",
    userId: "someone-else",
    deliveryMode: 1,
    headers: { "x-source": "stripe", "x-attempts": 1, "x-delivery-count": 4 },
  },
  { routingKey: "stripe.invoice.paid" },
);

describe("retryCopy", () => {
  it("goes to the retry queue through billing.retry with x-attempts + 1", () => {
    const copy = retryCopy(
      original,
      1,
      "billing_queue.retry.30000",
      new TransientError("deadlock", "deadlock"),
      "billing-worker",
    );
    expect(copy.exchange).toBe("billing.retry");
    expect(copy.routingKey).toBe("billing_queue.retry.30000");
    expect(copy.content.equals(original.content)).toBe(true);
    expect(copy.options).toEqual({
      headers: {
        "x-source": "stripe",
        "x-original-user-id": "someone-else",
        "x-attempts": 2,
        "x-routing-key": "stripe.invoice.paid",
        "x-last-error": "deadlock",
      },
      userId: "billing-worker",
      deliveryMode: 2,
      contentType: "application/json",
      correlationId: "corr",
      messageId: "evt_1",
      timestamp: 1_700_000_000,
      type: "invoice.paid",
      appId: "ingester",
    });
  });

  it("keeps the first routing key through a second retry", () => {
    const again = delivery(
      "{}",
      { messageId: "m", headers: { "x-attempts": 1, "x-routing-key": "command.balance.charge" } },
      { exchange: "", routingKey: "billing_queue" },
    );
    expect(retryCopy(again, 1, "q", new Error("x"), "w").options.headers).toMatchObject({
      "x-attempts": 2,
      "x-routing-key": "command.balance.charge",
      // published without a user_id: recorded as such, so no later copy can pass for trusted
      "x-original-user-id": "",
    });
  });

  it("keeps the first publisher through a second retry, whoever publishes the copy", () => {
    const again = delivery(
      "{}",
      { messageId: "m", userId: "billing-worker", headers: { "x-original-user-id": "billing-web" } },
      { exchange: "billing.retry", routingKey: "billing_queue" },
    );
    const copy = retryCopy(again, 1, "q", new Error("x"), "billing-worker-2");
    expect(copy.options.userId).toBe("billing-worker-2");
    expect(copy.options.headers?.["x-original-user-id"]).toBe("billing-web");
  });
});

describe("deadLetterCopy", () => {
  it("goes to billing.dlx under the original routing key with the Contract's headers", () => {
    const failedAt = new Date("2025-01-02T03:04:05.678Z");
    const error = new PermanentError("unknown_account", "no account acc_9");
    const copy = deadLetterCopy(original, 1, "permanent", error, failedAt, "billing-worker");
    expect(copy.exchange).toBe("billing.dlx");
    expect(copy.routingKey).toBe("stripe.invoice.paid");
    expect(copy.content.equals(original.content)).toBe(true);
    expect(copy.options.messageId).toBe("evt_1");
    expect(copy.options.headers).toEqual({
      "x-source": "stripe",
      "x-original-user-id": "someone-else",
      "x-error": "no account acc_9",
      "x-error-kind": "permanent",
      "x-error-code": "unknown_account",
      "x-attempts": 1,
      "x-failed-at": "2025-01-02T03:04:05.678Z",
      "x-routing-key": "stripe.invoice.paid",
    });
    expect(copy.options.userId).toBe("billing-worker");
  });

  it("codes an unknown throw as unexpected and bounds a huge error text", () => {
    const copy = deadLetterCopy(original, 5, "exhausted", new Error("x".repeat(5000)), new Date(), "w");
    expect(copy.options.headers?.["x-error-code"]).toBe("unexpected");
    expect(String(copy.options.headers?.["x-error"]).length).toBe(1000);
  });
});

// A message given back during a database outage spends no attempt (x-attempts as it was), keeps its
// first routing key and timestamp, counts its returns, and drops the broker's delivery count: the
// copy is a fresh message to the quorum queue, so outages never push it towards x-delivery-limit.
describe("returnCopy", () => {
  it("goes straight back to billing_queue with x-attempts unchanged and x-returned + 1", () => {
    const copy = returnCopy(original, "w");
    // through billing.retry, which binds billing_queue by its name: the worker writes no other exchange
    expect(copy.exchange).toBe("billing.retry");
    expect(copy.routingKey).toBe("billing_queue");
    expect(copy.content.equals(original.content)).toBe(true);
    expect(copy.options).toEqual({
      headers: {
        "x-source": "stripe",
        "x-attempts": 1,
        "x-routing-key": "stripe.invoice.paid",
        "x-returned": 1,
        // the first publisher, kept for the trust check
        "x-original-user-id": "someone-else",
      },
      userId: "w",
      deliveryMode: 2,
      contentType: "application/json",
      correlationId: "corr",
      messageId: "evt_1",
      timestamp: 1_700_000_000,
      type: "invoice.paid",
      appId: "ingester",
    });
  });

  it("adds no x-attempts to a first delivery, and counts returns across copies", () => {
    const first = delivery("{}", { messageId: "m", headers: { "x-source": "stripe" } });
    expect(returnCount(first)).toBe(0);
    const once = returnCopy(first, "w");
    expect(once.options.headers).not.toHaveProperty("x-attempts");
    const back = delivery("{}", once.options as never, { exchange: "", routingKey: "billing_queue" });
    expect(returnCount(back)).toBe(1);
    expect(returnCopy(back, "w").options.headers).toMatchObject({
      "x-returned": 2,
      "x-routing-key": "stripe.invoice.paid",
    });
    expect(returnCount(delivery("{}", { headers: { "x-returned": "lots" } }))).toBe(0);
  });
});
