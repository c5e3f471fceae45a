import { createHmac } from "node:crypto";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { createWebhookVerifier } from "../../lib/stripe/verify.ts";

const oldSecret = "whsec_old_0123456789abcdef";
const newSecret = "whsec_new_0123456789abcdef";
const nowS = 1_800_000_000;
const toleranceS = 300;
const verify = createWebhookVerifier([oldSecret, newSecret], toleranceS, () => nowS * 1000);

const event = JSON.stringify({ id: "evt_1abc", object: "event", type: "invoice.paid", created: nowS });
const sign = (payload: string, secret = newSecret, timestamp = nowS) =>
  Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
const body = (text: string) => Buffer.from(text);

describe("createWebhookVerifier", () => {
  // Rotation: a delivery signed with any configured secret verifies, and the event is read once.
  it.each([oldSecret, newSecret])("accepts a signature by %s", (secret) => {
    expect(verify(body(event), sign(event, secret))).toEqual({
      ok: true,
      eventId: "evt_1abc",
      eventType: "invoice.paid",
    });
  });

  // During a rotation Stripe sends one v1 signature per secret in one header.
  it("accepts a header carrying several v1 signatures", () => {
    const mac = (secret: string) => createHmac("sha256", secret).update(`${nowS}.${event}`).digest("hex");
    const header = `t=${nowS},v1=${mac("whsec_retired_secret")},v1=${mac(newSecret)}`;
    expect(verify(body(event), header).ok).toBe(true);
  });

  // The tolerance edge: an age equal to the tolerance passes, one second more does not.
  it.each([
    [nowS - toleranceS, true],
    [nowS - toleranceS - 1, false],
    [nowS + 30, true],
  ])("timestamp %i → ok %s", (timestamp, ok) => {
    const result = verify(body(event), sign(event, oldSecret, timestamp));
    expect(result.ok).toBe(ok);
    if (!result.ok) expect(result.reason).toBe("timestamp_outside_tolerance");
  });

  // Each refusal carries its own reason (for the log line and the metric).
  it.each([
    ["no header", event, undefined, "missing_signature"],
    ["a blank header", event, "  ", "missing_signature"],
    ["a header without a timestamp", event, "v1=abc", "malformed_signature"],
    ["a header without a v1 signature", event, `t=${nowS},v0=abc`, "malformed_signature"],
    ["an unknown secret", event, sign(event, "whsec_someone_else"), "bad_signature"],
    ["a tampered body", `${event} `, sign(event), "bad_signature"],
    ["an empty body", "", sign(""), "bad_signature"],
    ["a body that is not JSON", "hello", sign("hello"), "not_json"],
    ["a JSON array", "[1]", sign("[1]"), "not_event"],
    ["JSON null", "null", sign("null"), "not_event"],
  ] as const)("refuses %s as %s", (_what, text, header, reason) => {
    expect(verify(body(text), header)).toEqual({ ok: false, reason });
  });

  // A signed body must still be a Stripe event: object "event", an evt_ id, a type.
  it.each([
    { id: "evt_1", type: "invoice.paid" },
    { id: "evt_1", object: "invoice", type: "invoice.paid" },
    { id: "in_1", object: "event", type: "invoice.paid" },
    { id: "evt_", object: "event", type: "invoice.paid" },
    { id: 1, object: "event", type: "invoice.paid" },
    { id: "evt_1", object: "event" },
    { id: "evt_1", object: "event", type: "" },
    { id: "evt_1", object: "event", type: "has space" },
    { id: `evt_${"x".repeat(252)}`, object: "event", type: "invoice.paid" },
    { id: "evt_1", object: "v2.core.event", type: "v1.billing.meter.error_report_triggered" },
  ])("refuses %j as not_event", (json) => {
    const text = JSON.stringify(json);
    expect(verify(body(text), sign(text))).toEqual({ ok: false, reason: "not_event" });
  });

  // The bytes signed are the bytes verified: UTF-8 text outside ASCII verifies as sent.
  it("verifies non-ASCII bodies byte for byte", () => {
    const text = JSON.stringify({ id: "evt_ü", object: "event", type: "customer.created", name: "Zoë 東京" });
    expect(verify(body(text), sign(text))).toEqual({ ok: false, reason: "not_event" });
    const ascii = JSON.stringify({
      id: "evt_u",
      object: "event",
      type: "customer.created",
      name: "Zoë 東京",
    });
    expect(verify(body(ascii), sign(ascii)).ok).toBe(true);
  });

  // classify() reads the stripe package's messages: pin them, so an upgrade that changes one fails
  // here rather than silently turning a reason into bad_signature.
  it("knows the installed stripe package's messages", () => {
    const failure = (header: string, secret = newSecret) => {
      try {
        Stripe.webhooks.signature?.verifyHeader(event, header, secret, toleranceS, undefined, nowS * 1000);
      } catch (error) {
        return (error as Error).message;
      }
      return "verified";
    };
    expect(failure(sign(event, newSecret, nowS - 1000))).toMatch(/^Timestamp outside the tolerance zone/);
    expect(failure("v1=abc")).toMatch(/^Unable to extract timestamp and signatures/);
    expect(failure(`t=${nowS},v0=abc`)).toMatch(/^No signatures found with expected scheme/);
    expect(failure(sign(event, oldSecret))).toMatch(/^No signatures found matching the expected signature/);
  });
});
