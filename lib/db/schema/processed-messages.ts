import type { ColumnType } from "kysely";
import type { ColumnsOf } from "./columns.ts";

/** The inbox: one row per applied message, written in the transaction that applied it. */
export interface ProcessedMessagesTable {
  message_id: string;
  processed_at: ColumnType<Date, never, never>;
}

export const processedMessagesColumns: ColumnsOf<ProcessedMessagesTable> = {
  message_id: { type: "text", nullable: false },
  processed_at: { type: "timestamp with time zone", nullable: false },
};
