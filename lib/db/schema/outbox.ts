import type { ColumnType, Generated } from "kysely";
import type { ColumnsOf, Json } from "./columns.ts";

export interface OutboxTable {
  id: Generated<number>;
  /** The domain event's stable id (its messageId on billing.events). */
  event_id: string;
  type: string;
  correlation_id: string;
  /** The whole event body: {id, type, occurredAt, correlationId, data}. */
  payload: Json;
  created_at: ColumnType<Date, never, never>;
  published_at: Date | null;
}

export const outboxColumns: ColumnsOf<OutboxTable> = {
  id: { type: "bigint", nullable: false },
  event_id: { type: "text", nullable: false },
  type: { type: "text", nullable: false },
  correlation_id: { type: "text", nullable: false },
  payload: { type: "jsonb", nullable: false },
  created_at: { type: "timestamp with time zone", nullable: false },
  published_at: { type: "timestamp with time zone", nullable: true },
};
