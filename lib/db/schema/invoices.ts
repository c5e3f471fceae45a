import type { ColumnType, Generated } from "kysely";
import type { ColumnsOf } from "./columns.ts";

export interface InvoicesTable {
  invoice_id: string;
  customer_id: string;
  subscription_id: string | null;
  status: string;
  amount_due: number;
  amount_paid: number;
  currency: string;
  attempt_count: Generated<number>;
  event_created: number;
  event_id: string;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export const invoicesColumns: ColumnsOf<InvoicesTable> = {
  invoice_id: { type: "text", nullable: false },
  customer_id: { type: "text", nullable: false },
  subscription_id: { type: "text", nullable: true },
  status: { type: "text", nullable: false },
  amount_due: { type: "bigint", nullable: false },
  amount_paid: { type: "bigint", nullable: false },
  currency: { type: "text", nullable: false },
  attempt_count: { type: "integer", nullable: false },
  event_created: { type: "bigint", nullable: false },
  event_id: { type: "text", nullable: false },
  created_at: { type: "timestamp with time zone", nullable: false },
  updated_at: { type: "timestamp with time zone", nullable: false },
};
