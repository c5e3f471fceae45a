import { type InvoicesTable, invoicesColumns } from "../db/schema/invoices.ts";
import type { InvoiceState } from "../domain/entity-states.ts";
import { invoiceMachine } from "../domain/invoice-status.ts";
import type { EntityTable } from "./entity-table.ts";
import { checkedStatus } from "./stored-status.ts";

/** billing.invoices as the apply path reads and writes it. */
export const invoicesTable: EntityTable<InvoicesTable, InvoiceState> = {
  name: "invoices",
  key: "invoice_id",
  columns: invoicesColumns,
  names: [
    "invoice_id",
    "customer_id",
    "subscription_id",
    "status",
    "amount_due",
    "amount_paid",
    "attempt_count",
    "currency",
    "event_created",
    "event_id",
  ],
  fromRow: (row) => ({
    invoiceId: row.invoice_id as string,
    customerId: row.customer_id as string,
    subscriptionId: row.subscription_id as string | null,
    status: checkedStatus(invoiceMachine, row.status),
    amountDue: row.amount_due as number,
    amountPaid: row.amount_paid as number,
    attemptCount: row.attempt_count as number,
    currency: row.currency as string,
    eventCreated: row.event_created as number,
    eventId: row.event_id as string,
  }),
  toRow: (state) => ({
    invoice_id: state.invoiceId,
    customer_id: state.customerId,
    subscription_id: state.subscriptionId,
    status: state.status,
    amount_due: state.amountDue,
    amount_paid: state.amountPaid,
    attempt_count: state.attemptCount,
    currency: state.currency,
    event_created: state.eventCreated,
    event_id: state.eventId,
  }),
};
