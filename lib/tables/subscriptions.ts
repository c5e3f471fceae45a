import { type SubscriptionsTable, subscriptionsColumns } from "../db/schema/subscriptions.ts";
import type { SubscriptionState } from "../domain/entity-states.ts";
import { subscriptionMachine } from "../domain/subscription-status.ts";
import type { EntityTable } from "./entity-table.ts";
import { checkedStatus } from "./stored-status.ts";

/** billing.subscriptions as the apply path reads and writes it. */
export const subscriptionsTable: EntityTable<SubscriptionsTable, SubscriptionState> = {
  name: "subscriptions",
  key: "subscription_id",
  columns: subscriptionsColumns,
  names: [
    "subscription_id",
    "customer_id",
    "status",
    "price_id",
    "current_period_end",
    "cancel_at_period_end",
    "event_created",
    "event_id",
  ],
  fromRow: (row) => ({
    subscriptionId: row.subscription_id as string,
    customerId: row.customer_id as string,
    status: checkedStatus(subscriptionMachine, row.status),
    priceId: row.price_id as string | null,
    currentPeriodEnd:
      row.current_period_end instanceof Date ? Math.floor(row.current_period_end.getTime() / 1000) : null,
    cancelAtPeriodEnd: row.cancel_at_period_end as boolean,
    eventCreated: row.event_created as number,
    eventId: row.event_id as string,
  }),
  toRow: (state) => ({
    subscription_id: state.subscriptionId,
    customer_id: state.customerId,
    status: state.status,
    price_id: state.priceId,
    current_period_end:
      state.currentPeriodEnd === null ? null : new Date(state.currentPeriodEnd * 1000).toISOString(),
    cancel_at_period_end: state.cancelAtPeriodEnd,
    event_created: state.eventCreated,
    event_id: state.eventId,
  }),
};
