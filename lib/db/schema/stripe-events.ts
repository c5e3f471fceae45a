import type { ColumnType } from "kysely";
import type { ColumnsOf, Json } from "./columns.ts";

export interface StripeEventsTable {
  event_id: string;
  type: string;
  event_created: number;
  payload: Json;
  received_at: ColumnType<Date, never, never>;
}

export const stripeEventsColumns: ColumnsOf<StripeEventsTable> = {
  event_id: { type: "text", nullable: false },
  type: { type: "text", nullable: false },
  event_created: { type: "bigint", nullable: false },
  payload: { type: "jsonb", nullable: false },
  received_at: { type: "timestamp with time zone", nullable: false },
};
