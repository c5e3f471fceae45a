import { type PaymentsTable, paymentsColumns } from "../db/schema/payments.ts";
import type { PaymentState } from "../domain/entity-states.ts";
import { paymentMachine } from "../domain/payment-status.ts";
import type { EntityTable } from "./entity-table.ts";
import { checkedStatus } from "./stored-status.ts";

/** billing.payments as the apply path reads and writes it. */
export const paymentsTable: EntityTable<PaymentsTable, PaymentState> = {
  name: "payments",
  key: "payment_intent_id",
  columns: paymentsColumns,
  names: [
    "payment_intent_id",
    "account_id",
    "amount",
    "amount_received",
    "amount_refunded",
    "currency",
    "status",
    "last_error",
    "event_created",
    "event_id",
  ],
  fromRow: (row) => ({
    paymentIntentId: row.payment_intent_id as string,
    accountId: row.account_id as string | null,
    amount: row.amount as number,
    amountReceived: row.amount_received as number,
    amountRefunded: row.amount_refunded as number,
    currency: row.currency as string,
    status: checkedStatus(paymentMachine, row.status),
    lastError: row.last_error as string | null,
    eventCreated: row.event_created as number,
    eventId: row.event_id as string,
  }),
  toRow: (state) => ({
    payment_intent_id: state.paymentIntentId,
    account_id: state.accountId,
    amount: state.amount,
    amount_received: state.amountReceived,
    amount_refunded: state.amountRefunded,
    currency: state.currency,
    status: state.status,
    last_error: state.lastError,
    event_created: state.eventCreated,
    event_id: state.eventId,
  }),
};
