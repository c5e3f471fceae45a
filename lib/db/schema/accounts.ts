import type { ColumnType, Generated } from "kysely";
import type { ColumnsOf } from "./columns.ts";

export interface AccountsTable {
  account_id: string;
  currency: string;
  /** Always the sum of the account's ledger entries, never below zero. */
  balance: Generated<number>;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export const accountsColumns: ColumnsOf<AccountsTable> = {
  account_id: { type: "text", nullable: false },
  currency: { type: "text", nullable: false },
  balance: { type: "bigint", nullable: false },
  created_at: { type: "timestamp with time zone", nullable: false },
  updated_at: { type: "timestamp with time zone", nullable: false },
};
