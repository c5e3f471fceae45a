import { randomBytes } from "node:crypto";
import type { Db } from "../../lib/db/database.ts";

export interface LetterSpec {
  messageId?: string | null;
  type?: string | null;
  routingKey?: string;
  body?: Buffer | string;
  error?: string;
  errorKind?: "permanent" | "exhausted" | "delivery-limit";
  attempts?: number;
  failedAt?: Date;
  /** Extra headers the original message carried (x-source…). */
  headers?: Record<string, unknown>;
  properties?: Record<string, unknown>;
}

/** Inserts a dead letter in the shape the worker's DLQ archiver writes; returns its id. */
export async function insertDeadLetter(db: Db, spec: LetterSpec = {}): Promise<number> {
  const type = spec.type === undefined ? "payment_intent.succeeded" : spec.type;
  const messageId = spec.messageId === undefined ? `evt_${randomBytes(8).toString("hex")}` : spec.messageId;
  const routingKey = spec.routingKey ?? `stripe.${type ?? "unknown"}`;
  const failedAt = spec.failedAt ?? new Date();
  const error = spec.error ?? "unknown account acc_1";
  const errorKind = spec.errorKind ?? "permanent";
  const attempts = spec.attempts ?? 0;
  const body =
    typeof spec.body === "string"
      ? Buffer.from(spec.body)
      : (spec.body ?? Buffer.from(`{"id":"${messageId}"}`));
  const headers = {
    "x-source": "stripe",
    ...spec.headers,
    "x-error": error,
    "x-error-kind": errorKind,
    "x-attempts": attempts,
    "x-failed-at": failedAt.toISOString(),
  };
  const properties = {
    contentType: "application/json",
    deliveryMode: 2,
    ...(messageId === null ? {} : { messageId }),
    ...(type === null ? {} : { type }),
    timestamp: Math.floor(failedAt.getTime() / 1000) - 60,
    headers,
    ...spec.properties,
  };
  const row = await db
    .insertInto("dead_letters")
    .values({
      fingerprint: randomBytes(16).toString("hex"),
      message_id: messageId,
      type,
      exchange: "billing",
      routing_key: routingKey,
      body,
      properties: JSON.stringify(properties),
      headers: JSON.stringify(headers),
      error,
      error_kind: errorKind,
      attempts,
      failed_at: failedAt,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}
