-- The ops audit: every replay and purge of dead letters, from the console or billing-ops, with who
-- did it. Rows are only ever inserted. Dead letters keep their own replayed_by/purged_by too; this
-- table also holds what was asked for (the selection), how many letters it changed, and why.

-- up
CREATE TABLE billing.ops_audit (
  id        bigserial   PRIMARY KEY,
  acted_at  timestamptz NOT NULL DEFAULT now(),
  -- a CONSOLE_USERS name, or billing-ops' --by (default: the OS user)
  actor     text        NOT NULL CHECK (actor <> ''),
  via       text        NOT NULL CHECK (via IN ('console', 'cli')),
  action    text        NOT NULL CHECK (action IN ('replay', 'purge')),
  -- what was selected: {"ids": [...]}, a group {"type", "errorKind", "error"}, a filter, or {"all": true}
  filter    jsonb       NOT NULL,
  -- how many dead letters it changed
  count     integer     NOT NULL CHECK (count >= 0),
  reason    text,
  -- the ids changed, those skipped and why, and a failure that stopped it
  outcome   jsonb       NOT NULL
);
CREATE INDEX ops_audit_acted_at ON billing.ops_audit (acted_at DESC);

-- down
DROP TABLE billing.ops_audit;
