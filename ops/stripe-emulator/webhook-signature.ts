import { createHmac } from "node:crypto";

/** Stripe's `Stripe-Signature` header: `t=<unix s>,v1=<hex HMAC-SHA256 of "t.body" keyed by the secret>`. */
export function signatureHeader(secret: string, body: string, timestampS: number): string {
  const signature = createHmac("sha256", secret).update(`${timestampS}.${body}`).digest("hex");
  return `t=${timestampS},v1=${signature}`;
}
