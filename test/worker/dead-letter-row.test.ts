import { describe, expect, it } from "vitest";
import { deadLetterRow } from "../../lib/worker/dead-letter-row.ts";
import { delivery } from "../amqp/deliveries.ts";

// What ops see of a dead letter: the kind says who parked it and why (our consumer, or the broker's
// delivery limit, which may have caught an innocent neighbour); the fingerprint makes a re-archived
// copy of the same dead-lettering a no-op, and a later failure of the same message a new row.

const now = new Date("2025-06-01T00:00:00.000Z");
const ours = delivery(
  '{"id":"evt_1"}',
  {
    messageId: "evt_1",
    type: "invoice.paid",
    headers: {
      "x-source": "stripe",
      "x-error": "no account acc_9",
      "x-error-kind": "permanent",
      "x-error-code": "unknown_account",
      "x-attempts": 2,
      "x-failed-at": "2025-05-31T10:00:00.000Z",
      "x-routing-key": "stripe.invoice.paid",
    },
  },
  { exchange: "billing.dlx", routingKey: "stripe.invoice.paid" },
);
const byBroker = delivery(
  '{"id":"evt_2"}',
  {
    messageId: "evt_2",
    type: "invoice.paid",
    headers: {
      "x-source": "stripe",
      "x-attempts": 1,
      "x-routing-key": "stripe.invoice.paid",
      "x-death": [
        {
          count: 1,
          reason: "delivery_limit",
          queue: "billing_queue",
          time: { "!": "timestamp", value: 1_748_700_000 },
          exchange: "",
          "routing-keys": ["billing_queue"],
        },
        {
          count: 1,
          reason: "expired",
          queue: "billing_queue.retry.50",
          time: { "!": "timestamp", value: 1 },
        },
      ],
    },
  },
  { exchange: "billing.dlx", routingKey: "billing_queue" },
);

describe("deadLetterRow", () => {
  it("archives one of ours with its headers as the row's error, kind, attempts and time", () => {
    const row = deadLetterRow(ours, now);
    expect(row).toMatchObject({
      message_id: "evt_1",
      type: "invoice.paid",
      exchange: "billing",
      routing_key: "stripe.invoice.paid",
      error: "no account acc_9",
      error_kind: "permanent",
      attempts: 2,
      failed_at: new Date("2025-05-31T10:00:00.000Z"),
    });
    expect(row.body.equals(ours.content)).toBe(true);
    expect(JSON.parse(row.headers)).toEqual(ours.properties.headers);
    expect(JSON.parse(row.properties)).toMatchObject({ messageId: "evt_1", type: "invoice.paid" });
    expect(row.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it("archives a delivery-limit dead letter as such, saying it may be an innocent neighbour", () => {
    const row = deadLetterRow(byBroker, now);
    expect(row).toMatchObject({
      message_id: "evt_2",
      routing_key: "stripe.invoice.paid",
      error_kind: "delivery-limit",
      attempts: 1,
      failed_at: new Date(1_748_700_000 * 1000),
    });
    expect(row.error).toMatch(/crashed/);
    expect(row.error).toMatch(/innocent neighbour/);
    expect(row.error).toMatch(/safe to replay/);
  });

  it("keeps the same fingerprint for the same dead-lettering, and a new one for a new failure", () => {
    expect(deadLetterRow(ours, now).fingerprint).toBe(deadLetterRow(ours, new Date()).fingerprint);
    const later = delivery(ours.content, {
      ...ours.properties,
      headers: { ...ours.properties.headers, "x-failed-at": "2025-06-02T00:00:00.000Z" },
    });
    expect(deadLetterRow(later, now).fingerprint).not.toBe(deadLetterRow(ours, now).fingerprint);
    const otherBody = delivery('{"id":"evt_1","v":2}', ours.properties);
    expect(deadLetterRow(otherBody, now).fingerprint).not.toBe(deadLetterRow(ours, now).fingerprint);
    expect(deadLetterRow(byBroker, now).fingerprint).not.toBe(deadLetterRow(ours, now).fingerprint);
  });

  it("archives a message with no id, no type and odd headers without losing it", () => {
    const odd = delivery(Buffer.from([0xff, 0x00]), {
      headers: { "x-error-kind": "permanent", "x-error": "bad\u0000text", blob: Buffer.from("hi") },
    });
    const row = deadLetterRow(odd, now);
    expect(row).toMatchObject({ message_id: null, error: "bad\uFFFDtext", failed_at: now, attempts: 0 });
    expect(row.headers).not.toContain("\\u0000");
    expect(JSON.parse(row.headers).blob).toEqual({ base64: Buffer.from("hi").toString("base64") });
  });

  it("marks a message on the DLX with neither our headers nor x-death as permanent", () => {
    const row = deadLetterRow(delivery("{}", { messageId: "m" }), now);
    expect(row.error_kind).toBe("permanent");
    expect(row.error).toMatch(/something other than a worker/);
  });
});
