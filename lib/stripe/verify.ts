import Stripe from "stripe";

// Webhook verification with the stripe package's own header check (HMAC-SHA256, constant-time
// compare, tolerance), tried against each configured secret until one matches (rotation), then
// the body is parsed once and must be a Stripe event. The caller publishes the exact bytes.

/** Why a webhook was refused; the first four are signature failures. */
export type WebhookRejection =
  | "missing_signature"
  | "malformed_signature"
  | "bad_signature"
  | "timestamp_outside_tolerance"
  | "not_json"
  | "not_event";

export type WebhookVerification =
  | { readonly ok: true; readonly eventId: string; readonly eventType: string }
  | { readonly ok: false; readonly reason: WebhookRejection };

/** Verifies one delivery: the raw body and its Stripe-Signature header. */
export type WebhookVerifier = (body: Buffer, signatureHeader: string | undefined) => WebhookVerification;

// The id travels as the AMQP messageId and the type in the routing key: printable ASCII short
// strings (an AMQP shortstr holds 255 bytes), loose enough for any type Stripe adds.
const eventId = /^evt_[!-~]{1,251}$/;
const eventType = /^[!-~]{1,200}$/;

const rejected = (reason: WebhookRejection): WebhookVerification => ({ ok: false, reason });
const rejections = {
  missing_signature: rejected("missing_signature"),
  malformed_signature: rejected("malformed_signature"),
  bad_signature: rejected("bad_signature"),
  timestamp_outside_tolerance: rejected("timestamp_outside_tolerance"),
  not_json: rejected("not_json"),
  not_event: rejected("not_event"),
} as const;

/** A verifier for the configured secrets and tolerance; `now` (ms) is injectable for tests. */
export function createWebhookVerifier(
  secrets: readonly string[],
  toleranceS: number,
  now: () => number = Date.now,
): WebhookVerifier {
  const signature = Stripe.webhooks.signature;
  if (signature === null) throw new Error("the stripe package has no webhook signature helper");
  return (body, header) => {
    if (header === undefined || header.trim() === "") return rejections.missing_signature;
    // Decoded once here rather than by the stripe package once per secret.
    const payload = body.toString("utf8");
    const receivedAt = now();
    let verified = false;
    for (const secret of secrets) {
      try {
        signature.verifyHeader(payload, header, secret, toleranceS, undefined, receivedAt);
        verified = true;
        break;
      } catch (error) {
        const failure = classify(error);
        // A too-old timestamp means this secret's signature matched; a bad header fails them all.
        if (failure !== "bad_signature") return rejections[failure];
      }
    }
    if (!verified) return rejections.bad_signature;
    return readEvent(payload);
  };
}

function readEvent(payload: string): WebhookVerification {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return rejections.not_json;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return rejections.not_event;
  const { object, id, type } = json as Record<string, unknown>;
  if (object !== "event" || typeof id !== "string" || !eventId.test(id)) return rejections.not_event;
  if (typeof type !== "string" || !eventType.test(type)) return rejections.not_event;
  return { ok: true, eventId: id, eventType: type };
}

// The stripe package says why only in its message; an unknown message counts as a bad signature
// (still a 400), and test/stripe/verify.test.ts pins each text against the installed version.
function classify(error: unknown): "malformed_signature" | "bad_signature" | "timestamp_outside_tolerance" {
  if (!(error instanceof Stripe.errors.StripeSignatureVerificationError)) return "bad_signature";
  if (error.message.startsWith("Timestamp outside the tolerance zone")) return "timestamp_outside_tolerance";
  if (
    error.message.startsWith("Unable to extract timestamp and signatures") ||
    error.message.startsWith("No signatures found with expected scheme")
  ) {
    return "malformed_signature";
  }
  return "bad_signature";
}
