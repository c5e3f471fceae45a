import type { ColumnType, Generated } from "kysely";
import type { ColumnsOf } from "./columns.ts";

export interface PaymentsTable {
  payment_intent_id: string;
  account_id: string | null;
  amount: number;
  amount_received: Generated<number>;
  /** Cumulative refunded amount already debited from the balance. */
  amount_refunded: Generated<number>;
  currency: string;
  status: string;
  last_error: string | null;
  /** event.created (unix seconds) of the snapshot applied: the forward-only rule compares it. */
  event_created: number;
  event_id: string;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export const paymentsColumns: ColumnsOf<PaymentsTable> = {
  payment_intent_id: { type: "text", nullable: false },
  account_id: { type: "text", nullable: true },
  amount: { type: "bigint", nullable: false },
  amount_received: { type: "bigint", nullable: false },
  amount_refunded: { type: "bigint", nullable: false },
  currency: { type: "text", nullable: false },
  status: { type: "text", nullable: false },
  last_error: { type: "text", nullable: true },
  event_created: { type: "bigint", nullable: false },
  event_id: { type: "text", nullable: false },
  created_at: { type: "timestamp with time zone", nullable: false },
  updated_at: { type: "timestamp with time zone", nullable: false },
};
