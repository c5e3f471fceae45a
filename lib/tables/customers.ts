import { sql, type Transaction } from "kysely";
import { columnList, recordset } from "../db/recordset.ts";
import { customersColumns } from "../db/schema/customers.ts";
import type { Database } from "../db/schema/database.ts";
import type { CustomerState } from "../domain/entity-states.ts";

/** Maps customers to accounts in one statement; a customer already mapped keeps its first account. */
export async function insertCustomers(
  trx: Transaction<Database>,
  customers: readonly CustomerState[],
): Promise<void> {
  if (customers.length === 0) return;
  const names = ["customer_id", "account_id", "email"] as const;
  const rows = customers.map((c) => ({ customer_id: c.customerId, account_id: c.accountId, email: c.email }));
  await sql`
    INSERT INTO billing.customers (${columnList(names)})
    SELECT ${columnList(names)} FROM ${recordset(customersColumns, names, rows)}
    ON CONFLICT (customer_id) DO NOTHING`.execute(trx);
}
