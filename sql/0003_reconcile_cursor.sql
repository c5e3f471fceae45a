-- The reconciler's cursor over Stripe's Events API, one row per stream of events it reconciles
-- (today only 'stripe-events'). Written by the active reconciler only, through the connection
-- that holds its advisory lock; read by the standbys, `billing-ops doctor` and the ops console.

-- up
CREATE TABLE billing.reconcile_cursor (
  stream               text PRIMARY KEY,
  -- unix seconds: the created of the newest event a successful pass listed; the next pass lists
  -- from here minus the overlap window (created has one-second resolution; events appear late)
  cursor_created       bigint,
  -- unix seconds: when the last successful pass began listing; every event created before it
  -- (late arrivals within the overlap aside) has been listed
  listed_through       bigint,
  last_pass_started_at timestamptz,
  last_success_at      timestamptz,
  -- events the last successful pass found never applied and enqueued
  last_found_missing   integer,
  updated_at           timestamptz NOT NULL DEFAULT now()
);

-- down
DROP TABLE billing.reconcile_cursor;
