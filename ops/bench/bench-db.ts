import type pg from "pg";

// What the benchmark reads from (and resets in) its own database, through the Contract's tables.

/** Empties the tables the apply path writes, so every run starts from the same state. */
export async function resetTables(pool: pg.Pool): Promise<void> {
  await pool.query(
    `TRUNCATE billing.ledger_entries, billing.accounts, billing.payments, billing.processed_messages,
              billing.stripe_events, billing.outbox, billing.commands, billing.customers,
              billing.subscriptions, billing.invoices, billing.dead_letters`,
  );
}

/**
 * Messages applied: rows in the inbox. Polled while the fleet runs, so it counts the narrow inbox:
 * counting billing.stripe_events (1.5 KB bodies) every 100 ms took Postgres ~20% of a core in a
 * 30,000-event drain, and more as the table grew, slowing the run it measured.
 */
export async function appliedCount(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    "SELECT count(*)::text AS n FROM billing.processed_messages",
  );
  return Number(rows[0]?.n ?? 0);
}

/** The exactly-once figures after a run. */
export interface ExactlyOnce {
  stripeEvents: number;
  processedMessages: number;
  depositCredits: number;
  /** balance.credited domain events: one per credit. */
  creditedEvents: number;
  balanceTotal: number;
  /** First and last commit time (transaction start, epoch ms) of the applied events. */
  firstAtMs: number;
  lastAtMs: number;
}

/** Counts that must equal the number of distinct events (and their amounts) if exactly-once held. */
export async function exactlyOnce(pool: pg.Pool): Promise<ExactlyOnce> {
  const { rows } = await pool.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM billing.stripe_events)::text AS stripe_events,
            (SELECT count(*) FROM billing.outbox WHERE type = 'balance.credited')::text AS credited_events,
            (SELECT count(*) FROM billing.processed_messages)::text AS processed,
            (SELECT count(*) FROM billing.ledger_entries WHERE kind = 'deposit_credit')::text AS credits,
            (SELECT coalesce(sum(balance), 0) FROM billing.accounts)::text AS balance_total,
            (SELECT extract(epoch FROM min(received_at)) * 1000 FROM billing.stripe_events)::text AS first_at,
            (SELECT extract(epoch FROM max(received_at)) * 1000 FROM billing.stripe_events)::text AS last_at`,
  );
  const row = rows[0] ?? {};
  return {
    stripeEvents: Number(row.stripe_events),
    processedMessages: Number(row.processed),
    depositCredits: Number(row.credits),
    creditedEvents: Number(row.credited_events),
    balanceTotal: Number(row.balance_total),
    firstAtMs: Number(row.first_at),
    lastAtMs: Number(row.last_at),
  };
}

/** Deadlocks Postgres has detected in `database` since its statistics were reset. */
export async function deadlocks(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    "SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()",
  );
  return Number(rows[0]?.n ?? 0);
}

/** When each event's row was written (transaction start, epoch ms), by event id. */
export async function appliedTimes(pool: pg.Pool, ids: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ event_id: string; at: string }>(
    "SELECT event_id, (extract(epoch FROM received_at) * 1000)::text AS at FROM billing.stripe_events WHERE event_id = ANY($1)",
    [ids],
  );
  return new Map(rows.map((row) => [row.event_id, Number(row.at)]));
}
