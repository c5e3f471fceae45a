-- Reporting views over the applied state, for the business metrics: daily transaction volume,
-- revenue, subscription churn, average transaction value, failed payments by reason.
-- Days and months are UTC. Money stays bigint minor units per currency (never summed across
-- currencies, never a float); only churn_rate is a ratio.
-- The tables hold current state, not history: a payment counts under its current status, on the
-- day of the Stripe event that set it (event_created); a subscription starts when first seen
-- (created_at) and ends at the event that canceled it.

-- up
-- A transaction is a PaymentIntent that succeeded.
CREATE VIEW billing.daily_transaction_volume AS
SELECT (to_timestamp(p.event_created) AT TIME ZONE 'UTC')::date AS day,
       p.currency,
       count(*)::bigint                 AS transactions,
       sum(p.amount_received)::bigint   AS volume,
       sum(p.amount_refunded)::bigint   AS refunded
FROM billing.payments p
WHERE p.status = 'succeeded'
GROUP BY 1, 2;

-- Rounded half away from zero to a whole minor unit.
CREATE VIEW billing.average_transaction_value AS
SELECT v.day,
       v.currency,
       v.transactions,
       v.volume,
       round(v.volume::numeric / v.transactions)::bigint AS average_value
FROM billing.daily_transaction_volume v;

-- Revenue is what customers paid for the service: paid invoices (subscriptions and one-off) and
-- charges against the internal balance. Deposits are customers' money held for them (credited to
-- the balance), not revenue, and a refund returns a deposit.
CREATE VIEW billing.daily_revenue AS
SELECT r.day,
       r.currency,
       sum(r.invoiced)::bigint              AS invoice_revenue,
       sum(r.charged)::bigint               AS balance_charges,
       sum(r.invoiced + r.charged)::bigint  AS revenue
FROM (
  SELECT (to_timestamp(i.event_created) AT TIME ZONE 'UTC')::date AS day, i.currency,
         i.amount_paid AS invoiced, 0::bigint AS charged
  FROM billing.invoices i
  WHERE i.status = 'paid'
  UNION ALL
  SELECT (l.created_at AT TIME ZONE 'UTC')::date, l.currency, 0::bigint, -l.amount
  FROM billing.ledger_entries l
  WHERE l.kind = 'charge_debit'
) r
GROUP BY r.day, r.currency;

-- Monthly churn: subscriptions canceled in the month over those active at its start. A
-- subscription that never got past incomplete (incomplete, incomplete_expired) never started.
CREATE VIEW billing.subscription_churn AS
WITH subs AS (
  SELECT s.created_at AS started_at,
         CASE WHEN s.status = 'canceled' THEN to_timestamp(s.event_created) END AS ended_at
  FROM billing.subscriptions s
  WHERE s.status NOT IN ('incomplete', 'incomplete_expired')
), months AS (
  SELECT generate_series(date_trunc('month', min(started_at), 'UTC'), date_trunc('month', now(), 'UTC'),
                         interval '1 month') AS month_start
  FROM subs
), counted AS (
  SELECT m.month_start,
         count(*) FILTER (WHERE s.started_at < m.month_start
                            AND (s.ended_at IS NULL OR s.ended_at >= m.month_start))       AS active_at_start,
         count(*) FILTER (WHERE s.started_at >= m.month_start
                            AND s.started_at < m.month_start + interval '1 month')         AS started,
         count(*) FILTER (WHERE s.ended_at >= m.month_start
                            AND s.ended_at < m.month_start + interval '1 month')           AS churned
  FROM months m CROSS JOIN subs s
  GROUP BY m.month_start
)
SELECT (c.month_start AT TIME ZONE 'UTC')::date AS month,
       c.active_at_start,
       c.started,
       c.churned,
       round(c.churned::numeric / nullif(c.active_at_start, 0), 4) AS churn_rate
FROM counted c;

-- Payments whose current status is failed, by the decline reason Stripe gave.
CREATE VIEW billing.failed_payments_by_reason AS
SELECT (to_timestamp(p.event_created) AT TIME ZONE 'UTC')::date AS day,
       p.currency,
       coalesce(nullif(p.last_error, ''), 'unknown') AS reason,
       count(*)::bigint        AS failures,
       sum(p.amount)::bigint   AS amount
FROM billing.payments p
WHERE p.status = 'failed'
GROUP BY 1, 2, 3;

-- down
DROP VIEW billing.failed_payments_by_reason;
DROP VIEW billing.subscription_churn;
DROP VIEW billing.daily_revenue;
DROP VIEW billing.average_transaction_value;
DROP VIEW billing.daily_transaction_volume;
