import type { ColumnType, Generated } from "kysely";
import type { ColumnsOf, Json } from "./columns.ts";

export type DeadLetterStatus = "parked" | "replayed" | "purged";

export interface DeadLettersTable {
  id: Generated<number>;
  fingerprint: string;
  message_id: string | null;
  type: string | null;
  exchange: string;
  routing_key: string;
  body: Buffer;
  properties: Json;
  headers: Json;
  error: string;
  error_kind: string;
  attempts: Generated<number>;
  failed_at: Date;
  status: Generated<DeadLetterStatus>;
  archived_at: ColumnType<Date, never, never>;
  replayed_at: Date | null;
  replayed_by: string | null;
  purged_at: Date | null;
  purged_by: string | null;
}

export const deadLettersColumns: ColumnsOf<DeadLettersTable> = {
  id: { type: "bigint", nullable: false },
  fingerprint: { type: "text", nullable: false },
  message_id: { type: "text", nullable: true },
  type: { type: "text", nullable: true },
  exchange: { type: "text", nullable: false },
  routing_key: { type: "text", nullable: false },
  body: { type: "bytea", nullable: false },
  properties: { type: "jsonb", nullable: false },
  headers: { type: "jsonb", nullable: false },
  error: { type: "text", nullable: false },
  error_kind: { type: "text", nullable: false },
  attempts: { type: "integer", nullable: false },
  failed_at: { type: "timestamp with time zone", nullable: false },
  status: { type: "text", nullable: false },
  archived_at: { type: "timestamp with time zone", nullable: false },
  replayed_at: { type: "timestamp with time zone", nullable: true },
  replayed_by: { type: "text", nullable: true },
  purged_at: { type: "timestamp with time zone", nullable: true },
  purged_by: { type: "text", nullable: true },
};
