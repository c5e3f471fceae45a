import { sql } from "kysely";
import { columnList, recordset } from "../db/recordset.ts";
import { customersColumns } from "../db/schema/customers.ts";
import type { WritePart } from "../db/write-parts.ts";
import type { CustomerState } from "../domain/entity-states.ts";

/** Maps customers to accounts (one part of a batch's write); a customer already mapped keeps its first account. */
export function customersPart(customers: readonly CustomerState[]): WritePart | undefined {
  if (customers.length === 0) return undefined;
  const names = ["customer_id", "account_id", "email"] as const;
  const rows = customers.map((c) => ({ customer_id: c.customerId, account_id: c.accountId, email: c.email }));
  const inserted = sql`
    INSERT INTO billing.customers (${columnList(names)})
    SELECT ${columnList(names)} FROM ${recordset(customersColumns, names, rows)}
    ON CONFLICT (customer_id) DO NOTHING RETURNING customer_id`;
  return { ctes: [["customers_inserted", inserted]] };
}
