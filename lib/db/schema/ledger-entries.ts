import type { ColumnType, Generated } from "kysely";
import type { ColumnsOf } from "./columns.ts";

export interface LedgerEntriesTable {
  id: Generated<number>;
  account_id: string;
  currency: string;
  /** Signed minor units: credits positive, debits negative. */
  amount: number;
  kind: string;
  /** Unique per kind: what makes an entry happen once. */
  source_id: string;
  created_at: ColumnType<Date, never, never>;
}

export const ledgerEntriesColumns: ColumnsOf<LedgerEntriesTable> = {
  id: { type: "bigint", nullable: false },
  account_id: { type: "text", nullable: false },
  currency: { type: "text", nullable: false },
  amount: { type: "bigint", nullable: false },
  kind: { type: "text", nullable: false },
  source_id: { type: "text", nullable: false },
  created_at: { type: "timestamp with time zone", nullable: false },
};
