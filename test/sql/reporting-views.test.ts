import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

// The reporting views compute the business metrics from real rows: money stays integer minor
// units per currency, only the states named count, and days are UTC.

let database: TestDatabase;

const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);

beforeAll(async () => {
  database = await createTestDatabase();
  const db = database.db;
  const payment = (
    id: string,
    status: string,
    currency: string,
    amount: number,
    received: number,
    refunded: number,
    when: string,
    error: string | null = null,
  ) =>
    sql`INSERT INTO billing.payments (payment_intent_id, account_id, amount, amount_received, amount_refunded, currency, status, last_error, event_created, event_id)
        VALUES (${id}, 'acc_1', ${amount}, ${received}, ${refunded}, ${currency}, ${status}, ${error}, ${at(when)}, ${`evt_${id}`})`.execute(
      db,
    );
  await payment("pi_1", "succeeded", "usd", 1000, 1000, 200, "2025-01-10T12:00:00Z");
  await payment("pi_2", "succeeded", "usd", 501, 501, 0, "2025-01-10T23:59:59Z");
  await payment("pi_3", "succeeded", "eur", 333, 333, 0, "2025-01-10T00:00:00Z");
  await payment("pi_4", "succeeded", "usd", 101, 101, 0, "2025-01-11T00:00:00Z");
  await payment("pi_5", "failed", "usd", 700, 0, 0, "2025-01-10T08:00:00Z", "Your card was declined.");
  await payment("pi_6", "failed", "usd", 300, 0, 0, "2025-01-10T09:00:00Z", "Your card was declined.");
  await payment("pi_7", "failed", "usd", 50, 0, 0, "2025-01-10T10:00:00Z", null);
  await payment("pi_8", "processing", "usd", 999, 0, 0, "2025-01-10T10:00:00Z");

  const invoice = (id: string, status: string, currency: string, paid: number, when: string) =>
    sql`INSERT INTO billing.invoices (invoice_id, customer_id, status, amount_due, amount_paid, currency, event_created, event_id)
        VALUES (${id}, 'cus_1', ${status}, ${paid || 900}, ${paid}, ${currency}, ${at(when)}, ${`evt_${id}`})`.execute(
      db,
    );
  await invoice("in_1", "paid", "usd", 2500, "2025-01-10T15:00:00Z");
  await invoice("in_2", "open", "usd", 0, "2025-01-10T15:00:00Z");
  await invoice("in_3", "paid", "eur", 1000, "2025-01-11T15:00:00Z");

  await sql`INSERT INTO billing.accounts (account_id, currency, balance) VALUES ('acc_1', 'usd', 3600)`.execute(
    db,
  );
  const entry = (kind: string, amount: number, source: string) =>
    sql`INSERT INTO billing.ledger_entries (account_id, currency, amount, kind, source_id, created_at)
        VALUES ('acc_1', 'usd', ${amount}, ${kind}, ${source}, '2025-01-10T16:00:00Z')`.execute(db);
  await entry("deposit_credit", 5000, "pi_1");
  await entry("charge_debit", -1200, "cmd_1");
  await entry("refund_debit", -200, "pi_1:refunded:200");

  const subscription = (id: string, status: string, created: string, changed: string) =>
    sql`INSERT INTO billing.subscriptions (subscription_id, customer_id, status, event_created, event_id, created_at)
        VALUES (${id}, 'cus_1', ${status}, ${at(changed)}, ${`evt_${id}`}, ${created})`.execute(db);
  await subscription("sub_1", "active", "2025-01-05T00:00:00Z", "2025-01-05T00:00:00Z");
  await subscription("sub_2", "canceled", "2025-01-06T00:00:00Z", "2025-02-10T00:00:00Z");
  await subscription("sub_3", "canceled", "2025-02-01T00:00:00Z", "2025-02-20T00:00:00Z");
  await subscription("sub_4", "trialing", "2025-02-15T00:00:00Z", "2025-02-15T00:00:00Z");
  await subscription("sub_5", "incomplete_expired", "2025-01-07T00:00:00Z", "2025-01-08T00:00:00Z");
  await subscription("sub_6", "past_due", "2025-01-20T00:00:00Z", "2025-03-01T00:00:00Z");
});
afterAll(() => database.drop());

async function view(name: string, order: string): Promise<Record<string, unknown>[]> {
  const { rows } = await sql<
    Record<string, unknown>
  >`SELECT * FROM ${sql.table(`billing.${name}`)} ORDER BY ${sql.raw(order)}`.execute(database.db);
  return rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString().slice(0, 10) : v]),
    ),
  );
}

describe("reporting views", () => {
  it("daily_transaction_volume: succeeded payments per UTC day and currency", async () => {
    expect(await view("daily_transaction_volume", "day, currency")).toEqual([
      { day: "2025-01-10", currency: "eur", transactions: 1, volume: 333, refunded: 0 },
      { day: "2025-01-10", currency: "usd", transactions: 2, volume: 1501, refunded: 200 },
      { day: "2025-01-11", currency: "usd", transactions: 1, volume: 101, refunded: 0 },
    ]);
  });

  it("average_transaction_value: rounded to a whole minor unit", async () => {
    expect(await view("average_transaction_value", "day, currency")).toEqual([
      { day: "2025-01-10", currency: "eur", transactions: 1, volume: 333, average_value: 333 },
      { day: "2025-01-10", currency: "usd", transactions: 2, volume: 1501, average_value: 751 },
      { day: "2025-01-11", currency: "usd", transactions: 1, volume: 101, average_value: 101 },
    ]);
  });

  // Deposits and refunds move customers' money; revenue is paid invoices and balance charges.
  it("daily_revenue: paid invoices plus balance charges, not deposits or refunds", async () => {
    expect(await view("daily_revenue", "day, currency")).toEqual([
      { day: "2025-01-10", currency: "usd", invoice_revenue: 2500, balance_charges: 1200, revenue: 3700 },
      { day: "2025-01-11", currency: "eur", invoice_revenue: 1000, balance_charges: 0, revenue: 1000 },
    ]);
  });

  it("subscription_churn: canceled in the month over active at its start", async () => {
    const months = await view("subscription_churn", "month");
    expect(months.slice(0, 3)).toEqual([
      { month: "2025-01-01", active_at_start: 0, started: 3, churned: 0, churn_rate: null },
      { month: "2025-02-01", active_at_start: 3, started: 2, churned: 2, churn_rate: "0.6667" },
      { month: "2025-03-01", active_at_start: 3, started: 0, churned: 0, churn_rate: "0.0000" },
    ]);
    // One row per month up to the current one.
    const now = new Date();
    expect(months.at(-1)?.month).toBe(`${now.toISOString().slice(0, 7)}-01`);
  });

  it("failed_payments_by_reason: counts and amounts per reason", async () => {
    expect(await view("failed_payments_by_reason", "day, currency, reason")).toEqual([
      { day: "2025-01-10", currency: "usd", reason: "Your card was declined.", failures: 2, amount: 1000 },
      { day: "2025-01-10", currency: "usd", reason: "unknown", failures: 1, amount: 50 },
    ]);
  });
});
