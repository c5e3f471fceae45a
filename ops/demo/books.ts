import type pg from "pg";

// What the demo reads back, through the Contract's tables (schema billing) only.

export interface CommandRow {
  status: "succeeded" | "failed";
  error: unknown;
}

/** The commands table rows for these ids. */
export async function commandRows(pool: pg.Pool, ids: readonly string[]): Promise<Map<string, CommandRow>> {
  const { rows } = await pool.query<{ command_id: string; status: CommandRow["status"]; error: unknown }>(
    "SELECT command_id, status, error FROM billing.commands WHERE command_id = ANY($1)",
    [ids],
  );
  return new Map(rows.map((row) => [row.command_id, { status: row.status, error: row.error }]));
}

/** Balances by account id and currency (`acct_0001/usd`). */
export async function balances(pool: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ account_id: string; currency: string; balance: string }>(
    "SELECT account_id, currency, balance::text FROM billing.accounts",
  );
  return new Map(rows.map((row) => [`${row.account_id}/${row.currency}`, Number(row.balance)]));
}

/** Succeeded payments by account id: PaymentIntent id and amount. */
export async function paymentsByAccount(
  pool: pg.Pool,
): Promise<Map<string, { id: string; amount: number }[]>> {
  const { rows } = await pool.query<{ payment_intent_id: string; account_id: string; amount: string }>(
    "SELECT payment_intent_id, account_id, amount::text FROM billing.payments WHERE account_id IS NOT NULL",
  );
  const byAccount = new Map<string, { id: string; amount: number }[]>();
  for (const row of rows) {
    const list = byAccount.get(row.account_id) ?? [];
    list.push({ id: row.payment_intent_id, amount: Number(row.amount) });
    byAccount.set(row.account_id, list);
  }
  return byAccount;
}

/** Subscriptions with the account of their customer. */
export async function subscriptionsByAccount(
  pool: pg.Pool,
): Promise<Map<string, { id: string; status: string }>> {
  const { rows } = await pool.query<{ subscription_id: string; status: string; account_id: string }>(
    `SELECT s.subscription_id, s.status, c.account_id
       FROM billing.subscriptions s JOIN billing.customers c USING (customer_id)`,
  );
  return new Map(rows.map((row) => [row.account_id, { id: row.subscription_id, status: row.status }]));
}

/** Which of these Stripe event ids are in billing.stripe_events. */
export async function appliedEventIds(pool: pg.Pool, ids: readonly string[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ event_id: string }>(
    "SELECT event_id FROM billing.stripe_events WHERE event_id = ANY($1)",
    [ids],
  );
  return new Set(rows.map((row) => row.event_id));
}

export interface BookTotals {
  stripeEvents: number;
  processedMessages: number;
  ledgerEntries: number;
  outboxRows: number;
  outboxPublished: number;
  deadLettersParked: number;
  deadLetterErrors: { type: string | null; error: string; count: number }[];
  commandsByStatus: Record<string, number>;
  commandFailures: Record<string, number>;
  outboxByType: Record<string, number>;
}

/** Counts over the whole schema for the summary. */
export async function bookTotals(pool: pg.Pool): Promise<BookTotals> {
  const count = async (sql: string): Promise<number> =>
    Number((await pool.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
  const { rows: byStatus } = await pool.query<{ status: string; n: string }>(
    "SELECT status, count(*)::text AS n FROM billing.commands GROUP BY status",
  );
  const { rows: failures } = await pool.query<{ code: string | null; n: string }>(
    `SELECT coalesce(error->>'code', error->>'reason', left(error::text, 60)) AS code, count(*)::text AS n
       FROM billing.commands WHERE status = 'failed' GROUP BY 1 ORDER BY 2 DESC`,
  );
  const { rows: outbox } = await pool.query<{ type: string; n: string }>(
    "SELECT type, count(*)::text AS n FROM billing.outbox GROUP BY type ORDER BY type",
  );
  const { rows: dead } = await pool.query<{ type: string | null; error: string; n: string }>(
    `SELECT type, error, count(*)::text AS n FROM billing.dead_letters WHERE status = 'parked'
      GROUP BY type, error ORDER BY 3 DESC LIMIT 5`,
  );
  return {
    stripeEvents: await count("SELECT count(*)::text AS n FROM billing.stripe_events"),
    processedMessages: await count("SELECT count(*)::text AS n FROM billing.processed_messages"),
    ledgerEntries: await count("SELECT count(*)::text AS n FROM billing.ledger_entries"),
    outboxRows: await count("SELECT count(*)::text AS n FROM billing.outbox"),
    outboxPublished: await count(
      "SELECT count(*)::text AS n FROM billing.outbox WHERE published_at IS NOT NULL",
    ),
    deadLettersParked: await count(
      "SELECT count(*)::text AS n FROM billing.dead_letters WHERE status = 'parked'",
    ),
    deadLetterErrors: dead.map((row) => ({ type: row.type, error: row.error, count: Number(row.n) })),
    commandsByStatus: Object.fromEntries(byStatus.map((row) => [row.status, Number(row.n)])),
    commandFailures: Object.fromEntries(failures.map((row) => [row.code ?? "unknown", Number(row.n)])),
    outboxByType: Object.fromEntries(outbox.map((row) => [row.type, Number(row.n)])),
  };
}

export interface LedgerCheck {
  /** Accounts whose balance differs from the sum of their ledger entries. */
  mismatched: { account: string; balance: number; ledgerSum: number }[];
  /** Accounts below zero. */
  negative: { account: string; balance: number }[];
  accounts: number;
}

/** The Contract's ledger invariant, for every account. */
export async function ledgerCheck(pool: pg.Pool): Promise<LedgerCheck> {
  const { rows } = await pool.query<{
    account_id: string;
    currency: string;
    balance: string;
    ledger_sum: string;
  }>(
    `SELECT a.account_id, a.currency, a.balance::text, coalesce(sum(l.amount), 0)::text AS ledger_sum
       FROM billing.accounts a
       LEFT JOIN billing.ledger_entries l USING (account_id, currency)
      GROUP BY a.account_id, a.currency, a.balance`,
  );
  const mismatched: LedgerCheck["mismatched"] = [];
  const negative: LedgerCheck["negative"] = [];
  for (const row of rows) {
    const account = `${row.account_id}/${row.currency}`;
    const balance = Number(row.balance);
    const ledgerSum = Number(row.ledger_sum);
    if (balance !== ledgerSum) mismatched.push({ account, balance, ledgerSum });
    if (balance < 0) negative.push({ account, balance });
  }
  return { mismatched, negative, accounts: rows.length };
}
