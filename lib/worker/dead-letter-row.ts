import { createHash } from "node:crypto";
import type { Message } from "amqplib";
import type { Insertable } from "kysely";
import { deliveryFacts } from "../amqp/inbound-message.ts";
import { deliveryLimit, names } from "../amqp/topology.ts";
import type { DeadLettersTable } from "../db/schema/dead-letters.ts";
import { parseAttempts } from "../domain/retry-policy.ts";

// A message of billing_queue.dlq as a billing.dead_letters row. Two producers put messages there:
// our consumer (headers x-error, x-error-kind, x-failed-at…) and the broker itself when a delivery
// hits billing_queue's delivery limit (x-death with reason delivery_limit, none of our headers).

export type DeadLetterRow = Insertable<DeadLettersTable>;

interface DeathEntry {
  readonly reason: string | undefined;
  readonly queue: string | undefined;
  readonly time: Date | undefined;
  readonly count: number | undefined;
}

/** The row to archive for one DLQ message; `now` stands in for a failure time the message lacks. */
export function deadLetterRow(message: Message, now: Date): DeadLetterRow {
  const headers = message.properties.headers ?? {};
  const facts = deliveryFacts(message);
  const kindHeader = headers["x-error-kind"];
  const death = latestDeath(headers["x-death"]);
  const failedAtHeader = typeof headers["x-failed-at"] === "string" ? headers["x-failed-at"] : undefined;

  let errorKind: string;
  let error: string;
  let failedAt: Date;
  if (typeof kindHeader === "string" && kindHeader !== "") {
    errorKind = kindHeader;
    error = typeof headers["x-error"] === "string" ? headers["x-error"] : "(no x-error header)";
    failedAt = validDate(failedAtHeader) ?? death?.time ?? now;
  } else if (death !== undefined) {
    errorKind = death.reason === "delivery_limit" ? "delivery-limit" : "permanent";
    error = brokerDeathText(death);
    failedAt = death.time ?? now;
  } else {
    errorKind = "permanent";
    error = "no x-error-kind and no x-death: published to billing.dlx by something other than a worker";
    failedAt = validDate(failedAtHeader) ?? now;
  }

  return {
    fingerprint: fingerprint(message, failedAtHeader, death),
    message_id: facts.messageId ?? null,
    type: facts.type,
    // Every billing_queue message enters through exchange billing; replay republishes there.
    exchange: names.exchange,
    routing_key: facts.routingKey,
    body: message.content,
    properties: jsonText(message.properties),
    headers: jsonText(headers),
    error: clean(error),
    error_kind: errorKind,
    attempts: parseAttempts(headers["x-attempts"]),
    failed_at: failedAt,
  };
}

function brokerDeathText(death: DeathEntry): string {
  if (death.reason === "delivery_limit") {
    return (
      `delivered ${deliveryLimit} times without being settled: the process handling it crashed or ` +
      "lost its connection each time. It may be the poison message, or an innocent neighbour of one " +
      "(in flight on the same worker when it crashed): safe to replay once the cause is fixed"
    );
  }
  return `dead-lettered by RabbitMQ from ${death.queue ?? "a queue"} (reason: ${death.reason ?? "unknown"})`;
}

/**
 * sha256 over what identifies one dead-lettering: the message id, when it failed (our x-failed-at,
 * or the broker's x-death time and count) and the body. The same dead letter delivered twice by the
 * DLQ is archived once; the same message failing again later (after a replay) is a new row.
 */
function fingerprint(message: Message, failedAt: string | undefined, death: DeathEntry | undefined): string {
  const id = typeof message.properties.messageId === "string" ? message.properties.messageId : "";
  const when =
    failedAt ?? (death === undefined ? "" : `${death.time?.toISOString() ?? ""}#${death.count ?? ""}`);
  return createHash("sha256")
    .update(id)
    .update("\u0000")
    .update(when)
    .update("\u0000")
    .update(message.content)
    .digest("hex");
}

/** The newest x-death entry (RabbitMQ puts it first), read defensively. */
function latestDeath(header: unknown): DeathEntry | undefined {
  if (!Array.isArray(header) || header.length === 0) return undefined;
  const entry: unknown = header[0];
  if (typeof entry !== "object" || entry === null) return undefined;
  const record = entry as Record<string, unknown>;
  return {
    reason: typeof record.reason === "string" ? record.reason : undefined,
    queue: typeof record.queue === "string" ? record.queue : undefined,
    time: amqpTimestamp(record.time),
    count: typeof record.count === "number" ? record.count : undefined,
  };
}

/** amqplib decodes an AMQP timestamp (seconds) as `{ "!": "timestamp", value }`. */
function amqpTimestamp(value: unknown): Date | undefined {
  const seconds =
    typeof value === "object" && value !== null && "value" in value
      ? (value as { value: unknown }).value
      : value;
  return typeof seconds === "number" && Number.isFinite(seconds) ? new Date(seconds * 1000) : undefined;
}

function validDate(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** JSON for a jsonb column: Buffers as base64 text, and no NUL characters (which jsonb refuses). */
function jsonText(value: unknown): string {
  return JSON.stringify(value, function replace(this: Record<string, unknown>, key, item: unknown) {
    const raw = this[key];
    if (Buffer.isBuffer(raw)) return { base64: raw.toString("base64") };
    return typeof item === "string" ? clean(item) : item;
  });
}

function clean(text: string): string {
  return text.replaceAll("\u0000", "\uFFFD");
}
