import type { AccountsTable } from "./accounts.ts";
import { accountsColumns } from "./accounts.ts";
import type { CommandsTable } from "./commands.ts";
import { commandsColumns } from "./commands.ts";
import type { CustomersTable } from "./customers.ts";
import { customersColumns } from "./customers.ts";
import type { DeadLettersTable } from "./dead-letters.ts";
import { deadLettersColumns } from "./dead-letters.ts";
import type { InvoicesTable } from "./invoices.ts";
import { invoicesColumns } from "./invoices.ts";
import type { LedgerEntriesTable } from "./ledger-entries.ts";
import { ledgerEntriesColumns } from "./ledger-entries.ts";
import type { OpsAuditTable } from "./ops-audit.ts";
import { opsAuditColumns } from "./ops-audit.ts";
import type { OutboxTable } from "./outbox.ts";
import { outboxColumns } from "./outbox.ts";
import type { PaymentsTable } from "./payments.ts";
import { paymentsColumns } from "./payments.ts";
import type { ProcessedMessagesTable } from "./processed-messages.ts";
import { processedMessagesColumns } from "./processed-messages.ts";
import type { ReconcileCursorTable } from "./reconcile-cursor.ts";
import { reconcileCursorColumns } from "./reconcile-cursor.ts";
import type { StripeEventsTable } from "./stripe-events.ts";
import { stripeEventsColumns } from "./stripe-events.ts";
import type { SubscriptionsTable } from "./subscriptions.ts";
import { subscriptionsColumns } from "./subscriptions.ts";

/** Every table of schema `billing`, as Kysely sees it (queries use `withSchema("billing")`). */
export interface Database {
  accounts: AccountsTable;
  ledger_entries: LedgerEntriesTable;
  customers: CustomersTable;
  payments: PaymentsTable;
  subscriptions: SubscriptionsTable;
  invoices: InvoicesTable;
  processed_messages: ProcessedMessagesTable;
  stripe_events: StripeEventsTable;
  commands: CommandsTable;
  outbox: OutboxTable;
  dead_letters: DeadLettersTable;
  reconcile_cursor: ReconcileCursorTable;
  ops_audit: OpsAuditTable;
}

/** The runtime column descriptions of every table, for the drift test. */
export const databaseColumns = {
  accounts: accountsColumns,
  ledger_entries: ledgerEntriesColumns,
  customers: customersColumns,
  payments: paymentsColumns,
  subscriptions: subscriptionsColumns,
  invoices: invoicesColumns,
  processed_messages: processedMessagesColumns,
  stripe_events: stripeEventsColumns,
  commands: commandsColumns,
  outbox: outboxColumns,
  dead_letters: deadLettersColumns,
  reconcile_cursor: reconcileCursorColumns,
  ops_audit: opsAuditColumns,
} as const satisfies { readonly [K in keyof Database]: unknown };
