-- The billing schema: every table of the Contract with the keys that idempotency relies on.
-- Money is bigint minor units; Stripe's event.created is kept as unix seconds (bigint).

-- up
CREATE SCHEMA billing;

CREATE TABLE billing.accounts (
  account_id  text        NOT NULL,
  currency    text        NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  balance     bigint      NOT NULL DEFAULT 0 CHECK (balance >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, currency)
);

-- Immutable: the balance of an account is always the sum of its entries.
CREATE TABLE billing.ledger_entries (
  id          bigserial   PRIMARY KEY,
  account_id  text        NOT NULL,
  currency    text        NOT NULL,
  amount      bigint      NOT NULL CHECK (amount <> 0),
  kind        text        NOT NULL,
  source_id   text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, source_id),
  FOREIGN KEY (account_id, currency) REFERENCES billing.accounts (account_id, currency)
);
CREATE INDEX ledger_entries_account ON billing.ledger_entries (account_id, currency);

CREATE TABLE billing.customers (
  customer_id text        PRIMARY KEY,
  account_id  text        NOT NULL,
  email       text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_account ON billing.customers (account_id);

CREATE TABLE billing.payments (
  payment_intent_id text        PRIMARY KEY,
  account_id        text,
  amount            bigint      NOT NULL,
  amount_received   bigint      NOT NULL DEFAULT 0,
  amount_refunded   bigint      NOT NULL DEFAULT 0,
  currency          text        NOT NULL,
  status            text        NOT NULL,
  last_error        text,
  event_created     bigint      NOT NULL,
  event_id          text        NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_account ON billing.payments (account_id);

CREATE TABLE billing.subscriptions (
  subscription_id      text        PRIMARY KEY,
  customer_id          text        NOT NULL,
  status               text        NOT NULL,
  price_id             text,
  current_period_end   timestamptz,
  cancel_at_period_end boolean     NOT NULL DEFAULT false,
  event_created        bigint      NOT NULL,
  event_id             text        NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_customer ON billing.subscriptions (customer_id);

CREATE TABLE billing.invoices (
  invoice_id      text        PRIMARY KEY,
  customer_id     text        NOT NULL,
  subscription_id text,
  status          text        NOT NULL,
  amount_due      bigint      NOT NULL,
  amount_paid     bigint      NOT NULL,
  currency        text        NOT NULL,
  attempt_count   integer     NOT NULL DEFAULT 0,
  event_created   bigint      NOT NULL,
  event_id        text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invoices_customer ON billing.invoices (customer_id);
CREATE INDEX invoices_subscription ON billing.invoices (subscription_id);

-- The inbox: a message id here has been applied, in the transaction that applied it.
CREATE TABLE billing.processed_messages (
  message_id   text        PRIMARY KEY,
  processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processed_messages_processed_at ON billing.processed_messages (processed_at);

CREATE TABLE billing.stripe_events (
  event_id      text        PRIMARY KEY,
  type          text        NOT NULL,
  event_created bigint      NOT NULL,
  payload       jsonb       NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stripe_events_received_at ON billing.stripe_events (received_at);
CREATE INDEX stripe_events_type ON billing.stripe_events (type, event_created);

CREATE TABLE billing.commands (
  command_id   text        PRIMARY KEY,
  type         text        NOT NULL,
  status       text        NOT NULL CHECK (status IN ('succeeded', 'failed')),
  request_hash text        NOT NULL,
  source       text,
  result       jsonb,
  error        jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX commands_created_at ON billing.commands (created_at);

CREATE TABLE billing.outbox (
  id             bigserial   PRIMARY KEY,
  event_id       text        NOT NULL UNIQUE,
  type           text        NOT NULL,
  correlation_id text        NOT NULL,
  payload        jsonb       NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  published_at   timestamptz
);
CREATE INDEX outbox_unpublished ON billing.outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON billing.outbox (published_at) WHERE published_at IS NOT NULL;

CREATE TABLE billing.dead_letters (
  id          bigserial   PRIMARY KEY,
  -- sha256 over what identifies one dead-lettering, so a re-archived message is not parked twice
  fingerprint text        NOT NULL UNIQUE,
  message_id  text,
  type        text,
  exchange    text        NOT NULL,
  routing_key text        NOT NULL,
  body        bytea       NOT NULL,
  properties  jsonb       NOT NULL,
  headers     jsonb       NOT NULL,
  error       text        NOT NULL,
  error_kind  text        NOT NULL,
  attempts    integer     NOT NULL DEFAULT 0,
  failed_at   timestamptz NOT NULL,
  status      text        NOT NULL DEFAULT 'parked' CHECK (status IN ('parked', 'replayed', 'purged')),
  archived_at timestamptz NOT NULL DEFAULT now(),
  replayed_at timestamptz,
  replayed_by text,
  purged_at   timestamptz,
  purged_by   text
);
CREATE INDEX dead_letters_parked ON billing.dead_letters (failed_at DESC) WHERE status = 'parked';
CREATE INDEX dead_letters_type ON billing.dead_letters (type, status);

-- down
DROP SCHEMA billing CASCADE;
