import { stripeEventMessage } from "../amqp/stripe-event-message.ts";
import { webhookSignatureRejections } from "../metrics/registry.ts";
import type { WebhookRejection, WebhookVerifier } from "../stripe/verify.ts";
import type { Enqueue } from "./enqueue.ts";
import { readRawBody } from "./raw-body.ts";
import { answer, type Route, refusal } from "./respond.ts";

// POST /webhooks/stripe: a 2xx is a promise that the event will be applied (Stripe stops retrying),
// so the 200 is written only after the broker's confirm; every other outcome lets Stripe retry.

export const webhookPath = "/webhooks/stripe";

const received = answer(200, { received: true });
const tooLarge = refusal(413, "body_too_large", "body over 1 MiB", { close: true });
const aborted = refusal(400, "client_aborted", "request body incomplete");
const rejections: Record<WebhookRejection, ReturnType<typeof refusal>> = {
  missing_signature: refusal(400, "missing_signature", "missing Stripe-Signature header"),
  malformed_signature: refusal(400, "malformed_signature", "malformed Stripe-Signature header"),
  bad_signature: refusal(400, "bad_signature", "signature does not match"),
  timestamp_outside_tolerance: refusal(400, "timestamp_outside_tolerance", "timestamp outside tolerance"),
  not_json: refusal(400, "not_json", "body is not JSON"),
  not_event: refusal(400, "not_event", "body is not a Stripe event"),
};
const signatureReasons: ReadonlySet<WebhookRejection> = new Set([
  "missing_signature",
  "malformed_signature",
  "bad_signature",
  "timestamp_outside_tolerance",
]);
/**
 * The webhook route: verify, publish the exact bytes, answer after the confirm. `userId` is the
 * ingester's broker user: the worker applies Stripe events only from trusted publishers.
 */
export function webhookRoute(deps: { verify: WebhookVerifier; enqueue: Enqueue; userId: string }): Route {
  return async (req) => {
    const header = req.headers["stripe-signature"];
    // Refused before the body is read: without a signature nothing in it can be trusted.
    if (typeof header !== "string" || header === "") return reject("missing_signature");
    const raw = await readRawBody(req);
    if (!raw.ok) return raw.reason === "too_large" ? tooLarge : aborted;
    const verified = deps.verify(raw.body, header);
    if (!verified.ok) return reject(verified.reason);
    const message = stripeEventMessage({
      eventId: verified.eventId,
      eventType: verified.eventType,
      source: "stripe",
      userId: deps.userId,
    });
    const refused = await deps.enqueue(webhookPath, message.routingKey, raw.body, message.options);
    return refused === undefined
      ? received
      : { ...refused, detail: `${verified.eventId}: ${refused.detail}` };
  };
}

function reject(reason: WebhookRejection) {
  if (signatureReasons.has(reason)) webhookSignatureRejections.inc({ reason });
  return rejections[reason];
}
