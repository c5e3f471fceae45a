-- docker-compose.yml: runs once, when the postgres container initialises its data directory.
-- The group roles are created here ahead of sql/0005_roles.sql (which creates them only when
-- missing, and grants them), so that the runtime's login users can be members from the start.
-- Passwords are obviously fake: replace them for anything but a laptop.
CREATE ROLE billing_app NOLOGIN;
CREATE ROLE billing_maintenance NOLOGIN;
CREATE ROLE billing_readonly NOLOGIN;
CREATE ROLE billing_worker LOGIN PASSWORD 'worker' IN ROLE billing_app;
CREATE ROLE billing_relay LOGIN PASSWORD 'relay' IN ROLE billing_app;
CREATE ROLE billing_reconciler LOGIN PASSWORD 'reconciler' IN ROLE billing_app;
CREATE ROLE billing_ops LOGIN PASSWORD 'ops' IN ROLE billing_app;
CREATE ROLE billing_prune LOGIN PASSWORD 'prune' IN ROLE billing_maintenance;
