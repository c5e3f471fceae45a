import type { ColumnType } from "kysely";
import type { ColumnsOf, NullableJson } from "./columns.ts";

export interface CommandsTable {
  command_id: string;
  type: string;
  status: "succeeded" | "failed";
  /** sha256 of the canonical request: the same id with other fields is an idempotency conflict. */
  request_hash: string;
  source: string | null;
  result: NullableJson;
  error: NullableJson;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export const commandsColumns: ColumnsOf<CommandsTable> = {
  command_id: { type: "text", nullable: false },
  type: { type: "text", nullable: false },
  status: { type: "text", nullable: false },
  request_hash: { type: "text", nullable: false },
  source: { type: "text", nullable: true },
  result: { type: "jsonb", nullable: true },
  error: { type: "jsonb", nullable: true },
  created_at: { type: "timestamp with time zone", nullable: false },
  updated_at: { type: "timestamp with time zone", nullable: false },
};
