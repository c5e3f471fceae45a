import type { ColumnType, Generated } from "kysely";
import type { ColumnsOf } from "./columns.ts";

export interface SubscriptionsTable {
  subscription_id: string;
  customer_id: string;
  status: string;
  price_id: string | null;
  current_period_end: Date | null;
  cancel_at_period_end: Generated<boolean>;
  event_created: number;
  event_id: string;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export const subscriptionsColumns: ColumnsOf<SubscriptionsTable> = {
  subscription_id: { type: "text", nullable: false },
  customer_id: { type: "text", nullable: false },
  status: { type: "text", nullable: false },
  price_id: { type: "text", nullable: true },
  current_period_end: { type: "timestamp with time zone", nullable: true },
  cancel_at_period_end: { type: "boolean", nullable: false },
  event_created: { type: "bigint", nullable: false },
  event_id: { type: "text", nullable: false },
  created_at: { type: "timestamp with time zone", nullable: false },
  updated_at: { type: "timestamp with time zone", nullable: false },
};
