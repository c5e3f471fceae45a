-- Least privilege: group roles (NOLOGIN) that deployments grant to their login users.
--   billing_app          worker, relay, reconciler, console: read and write what they apply;
--                        the ledger is append-only; no DDL, no TRUNCATE, no DELETE.
--   billing_maintenance  `billing-ops prune`: reads what retention keeps, deletes what it drops.
--   billing_readonly     analysts and dashboards: the reporting views, nothing else.
-- `release` / `migrate` run as the schema owner (who runs this file); nobody else owns anything.
--
-- Roles are global to the cluster, while this runs once per database (test databases are cloned
-- and migrated concurrently): a role is created only when missing, and a concurrent creator
-- winning the race (duplicate_object, or unique_violation on pg_authid) is not an error. A user
-- without CREATEROLE can run this once a DBA created the three roles.
--
-- Every table and view of schema billing gets an explicit line per role below (none means no
-- access); test/sql/roles.test.ts holds the same decisions and fails on a table without one.
-- No ALTER DEFAULT PRIVILEGES: a new table is inaccessible until a migration decides.

-- up
DO $$
DECLARE
  wanted text[] := ARRAY['billing_app', 'billing_maintenance', 'billing_readonly'];
  name text;
BEGIN
  FOREACH name IN ARRAY wanted LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', name);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created by a concurrent migration of another database
      END;
    END IF;
  END LOOP;
END
$$;

GRANT USAGE ON SCHEMA billing TO billing_app, billing_maintenance, billing_readonly;

-- billing_app, table by table.
GRANT SELECT, INSERT, UPDATE ON billing.accounts           TO billing_app; -- balance moves with each entry
GRANT SELECT, INSERT         ON billing.ledger_entries     TO billing_app; -- append-only
GRANT SELECT, INSERT         ON billing.customers          TO billing_app;
GRANT SELECT, INSERT, UPDATE ON billing.payments           TO billing_app;
GRANT SELECT, INSERT, UPDATE ON billing.subscriptions      TO billing_app;
GRANT SELECT, INSERT, UPDATE ON billing.invoices           TO billing_app;
GRANT SELECT, INSERT         ON billing.processed_messages TO billing_app; -- the inbox
GRANT SELECT, INSERT         ON billing.stripe_events      TO billing_app; -- the audit
GRANT SELECT, INSERT         ON billing.commands           TO billing_app;
GRANT SELECT, INSERT, UPDATE ON billing.outbox             TO billing_app; -- relay marks published
GRANT SELECT, INSERT, UPDATE ON billing.dead_letters       TO billing_app; -- archiver; replay/purge mark
GRANT SELECT, INSERT, UPDATE ON billing.reconcile_cursor   TO billing_app; -- the reconciler's cursor
GRANT SELECT, INSERT         ON billing.ops_audit          TO billing_app; -- console and CLI actions: append-only
GRANT USAGE ON SEQUENCE billing.ledger_entries_id_seq, billing.outbox_id_seq, billing.dead_letters_id_seq,
  billing.ops_audit_id_seq TO billing_app;
-- `billing-ops doctor` compares the applied migrations with the release's.
GRANT SELECT ON public.kysely_migration TO billing_app;

-- billing_maintenance: ops/retention.ts (prune) and nothing else.
GRANT SELECT, DELETE ON billing.processed_messages TO billing_maintenance;
GRANT SELECT, DELETE ON billing.stripe_events      TO billing_maintenance;
GRANT SELECT, DELETE ON billing.outbox             TO billing_maintenance;
GRANT SELECT         ON billing.dead_letters       TO billing_maintenance; -- parked letters protect rows

-- billing_readonly: the reporting views (they read their tables with the owner's rights).
GRANT SELECT ON billing.daily_transaction_volume  TO billing_readonly;
GRANT SELECT ON billing.average_transaction_value TO billing_readonly;
GRANT SELECT ON billing.daily_revenue             TO billing_readonly;
GRANT SELECT ON billing.subscription_churn        TO billing_readonly;
GRANT SELECT ON billing.failed_payments_by_reason TO billing_readonly;

-- down
-- Revokes what this database granted and leaves the roles: they are cluster-wide, other
-- databases may still grant them, and dropping one would also drop the memberships deployments
-- gave their login users (an `up` could not restore those). RUNBOOK: dropping them for good.
REVOKE ALL ON ALL TABLES IN SCHEMA billing FROM billing_app, billing_maintenance, billing_readonly;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA billing FROM billing_app, billing_maintenance, billing_readonly;
REVOKE ALL ON SCHEMA billing FROM billing_app, billing_maintenance, billing_readonly;
REVOKE ALL ON public.kysely_migration FROM billing_app;
