import type { ColumnType } from "kysely";
import type { ColumnsOf } from "./columns.ts";

export interface CustomersTable {
  customer_id: string;
  account_id: string;
  email: string | null;
  created_at: ColumnType<Date, never, never>;
}

export const customersColumns: ColumnsOf<CustomersTable> = {
  customer_id: { type: "text", nullable: false },
  account_id: { type: "text", nullable: false },
  email: { type: "text", nullable: true },
  created_at: { type: "timestamp with time zone", nullable: false },
};
