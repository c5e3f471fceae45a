import { sql } from "kysely";
import type { Counter, Histogram } from "prom-client";
import type { Db } from "../../lib/db/database.ts";

// Read-side helpers for the handler tests: what the database holds after a run, and metric values.

/** Outbox rows as [type, count], for "exactly once" checks. */
export async function outboxCounts(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom("outbox")
    .select(["type", (eb) => eb.fn.countAll<string>().as("n")])
    .groupBy("type")
    .execute();
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}

/** Every account as "account:currency" → balance. */
export async function balances(db: Db): Promise<Record<string, number>> {
  const rows = await db.selectFrom("accounts").select(["account_id", "currency", "balance"]).execute();
  return Object.fromEntries(rows.map((r) => [`${r.account_id}:${r.currency}`, r.balance]));
}

/** Accounts whose balance is not the sum of their ledger entries (must always be empty). */
export async function balanceDrift(db: Db): Promise<unknown[]> {
  const { rows } = await sql<{ account_id: string; currency: string; balance: number; total: number }>`
    SELECT a.account_id, a.currency, a.balance, COALESCE(SUM(l.amount), 0)::bigint AS total
    FROM billing.accounts a
    LEFT JOIN billing.ledger_entries l USING (account_id, currency)
    GROUP BY a.account_id, a.currency, a.balance
    HAVING a.balance <> COALESCE(SUM(l.amount), 0)
  `.execute(db);
  return rows;
}

/** How many rows a table holds. */
export async function rowCount(
  db: Db,
  table: "payments" | "subscriptions" | "invoices" | "customers" | "ledger_entries" | "stripe_events",
): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The current value of a counter for one label set (0 when never incremented). */
export async function counterValue(metric: Counter, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return match?.value ?? 0;
}

/** How many observations a histogram has had. */
export async function histogramCount(metric: Histogram): Promise<number> {
  const { values } = await metric.get();
  return values.find((v) => v.metricName?.endsWith("_count"))?.value ?? 0;
}
