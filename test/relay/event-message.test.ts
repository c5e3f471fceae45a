import { describe, expect, it } from "vitest";
import { eventBody, eventMessage } from "../../lib/relay/event-message.ts";

const createdAt = new Date("2025-03-01T12:00:00.750Z");
const row = {
  id: 7,
  event_id: "evt_pi_1:payment.succeeded",
  type: "payment.succeeded",
  correlation_id: "evt_pi_1",
  // jsonb gives keys back in its own order
  payload: {
    id: "evt_pi_1:payment.succeeded",
    data: { amount: 500, currency: "eur" },
    type: "payment.succeeded",
    occurredAt: "2025-03-01T11:59:59.000Z",
    correlationId: "evt_pi_1",
  },
  created_at: createdAt,
};

describe("eventMessage", () => {
  // The Contract's domain-event message: routing key = type, messageId = the stable event id,
  // correlationId, JSON, persistent; the same row always yields the same message, so a
  // republished duplicate is indistinguishable from the original.
  it("maps a row to the Contract's message", () => {
    const message = eventMessage(row);
    expect(message.routingKey).toBe("payment.succeeded");
    expect(message.options).toEqual({
      messageId: "evt_pi_1:payment.succeeded",
      type: "payment.succeeded",
      correlationId: "evt_pi_1",
      contentType: "application/json",
      persistent: true,
      timestamp: Math.floor(createdAt.getTime() / 1000),
    });
    expect(message.content.toString()).toBe(
      '{"id":"evt_pi_1:payment.succeeded","type":"payment.succeeded","occurredAt":"2025-03-01T11:59:59.000Z","correlationId":"evt_pi_1","data":{"amount":500,"currency":"eur"}}',
    );
    expect(eventMessage(row)).toEqual(message);
  });

  // The body is the payload, whole: fields beyond the Contract's are kept, not dropped.
  it.each<[unknown, string]>([
    [{ data: 1, id: "a", extra: true }, '{"id":"a","data":1,"extra":true}'],
    [[1, 2], "[1,2]"],
    ["text", '"text"'],
    [null, "null"],
  ])("keeps the whole payload %j", (payload, expected) => {
    expect(eventBody(payload)).toBe(expected);
  });
});
