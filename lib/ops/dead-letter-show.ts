import type { Db } from "../db/database.ts";
import type { DeadLetterStatus } from "../db/schema/dead-letters.ts";
import { readableBody } from "./readable-body.ts";

/** One dead letter whole, in any status: what `dlq show --json` prints and the console's letter page shows. */
export interface DeadLetter {
  readonly id: number;
  readonly status: DeadLetterStatus;
  readonly messageId: string | null;
  readonly type: string | null;
  readonly exchange: string;
  readonly routingKey: string;
  readonly errorKind: string;
  readonly error: string;
  readonly attempts: number;
  readonly failedAt: string;
  readonly archivedAt: string;
  readonly replayedAt: string | null;
  readonly replayedBy: string | null;
  readonly purgedAt: string | null;
  readonly purgedBy: string | null;
  readonly properties: Record<string, unknown>;
  readonly headers: Record<string, unknown>;
  readonly body: {
    readonly kind: "json" | "text" | "binary";
    readonly bytes: number;
    /** The body parsed, when it is JSON. */
    readonly json?: unknown;
    /** The body as readable text (control characters and non-UTF-8 bytes escaped), when not JSON. */
    readonly text?: string;
    /** The exact bytes. */
    readonly base64: string;
  };
  /** The body as a person reads it: pretty JSON, or the escaped text. */
  readonly bodyText: string;
}

/** The dead letter with this id, or undefined. */
export async function showDeadLetter(db: Db, id: number): Promise<DeadLetter | undefined> {
  const row = await db.selectFrom("dead_letters").selectAll().where("id", "=", id).executeTakeFirst();
  if (row === undefined) return undefined;
  const body = readableBody(row.body);
  return {
    id: row.id,
    status: row.status,
    messageId: row.message_id,
    type: row.type,
    exchange: row.exchange,
    routingKey: row.routing_key,
    errorKind: row.error_kind,
    error: row.error,
    attempts: row.attempts,
    failedAt: row.failed_at.toISOString(),
    archivedAt: row.archived_at.toISOString(),
    replayedAt: row.replayed_at?.toISOString() ?? null,
    replayedBy: row.replayed_by,
    purgedAt: row.purged_at?.toISOString() ?? null,
    purgedBy: row.purged_by,
    properties: row.properties,
    headers: row.headers,
    body: {
      kind: body.kind,
      bytes: row.body.length,
      ...(body.kind === "json" ? { json: body.value } : { text: body.text }),
      base64: row.body.toString("base64"),
    },
    bodyText: body.text,
  };
}
