import { inboxKey, type StripeEventMessage } from "../amqp/inbound-message.ts";
import type { Db } from "../db/database.ts";
import {
  accountsToLock,
  type BatchPlan,
  batchKeys,
  type PlannedEvent,
  planBatch,
} from "../domain/batch-plan.ts";
import type { BillingError } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import {
  paymentProcessing,
  payments,
  subscriptionsCreated,
  unknownStripeEvents,
} from "../metrics/registry.ts";
import { insertCustomers } from "../tables/customers.ts";
import { lockEntities, writeEntities } from "../tables/entity-table.ts";
import { claimInbox, releaseInbox } from "../tables/inbox.ts";
import { invoicesTable } from "../tables/invoices.ts";
import { countPostings, lockAccounts, readLedgerEntries, writePostings } from "../tables/ledger.ts";
import { emitAll } from "../tables/outbox.ts";
import { paymentsTable } from "../tables/payments.ts";
import { auditStripeEvents } from "../tables/stripe-events.ts";
import { subscriptionsTable } from "../tables/subscriptions.ts";
import { withQuickRetries } from "./quick-retry.ts";

// Applies a batch of Stripe events in ONE transaction with a fixed number of statements, whatever
// its size: (a) claim the inbox; (b) lock every row the batch touches, one statement per table, in
// one global order (inbox keys, payments, subscriptions, invoices, then accounts; each in key
// order); (c) decide every effect in pure code (lib/domain/batch-plan.ts); (d) write each table in
// one statement, audit and outbox included; (e) commit. The caller acks after this resolves.

/** How one message of a batch ended. A refused one changed nothing and is the caller's to retry or park. */
export type EventOutcome =
  | { readonly status: "applied" }
  | { readonly status: "duplicate" }
  | { readonly status: "refused"; readonly error: BillingError };

export interface ApplyBatchDeps {
  readonly db: Db;
  readonly log: Logger;
}

/**
 * Applies Stripe events exactly once each, in one transaction, and resolves with their outcomes
 * (in order) once it has committed. A message already in the inbox, or twice in the batch, is a
 * duplicate. An event the plan refuses (its payment not applied yet, a refund the balance cannot
 * cover, …) is left out, its neighbours apply. Anything else rolls the whole batch back and throws
 * (classified), after quick in-process retries of races and lost connections.
 */
export async function applyBatch(
  deps: ApplyBatchDeps,
  messages: readonly StripeEventMessage[],
): Promise<EventOutcome[]> {
  const committed = await withQuickRetries(deps.log, () => applyInOneTransaction(deps.db, messages));
  if (committed.plan !== undefined) countPlan(committed.plan);
  return committed.outcomes;
}

async function applyInOneTransaction(
  db: Db,
  messages: readonly StripeEventMessage[],
): Promise<{ outcomes: EventOutcome[]; plan: BatchPlan | undefined }> {
  return db.transaction().execute(async (trx) => {
    // (a) A key twice in the batch is claimed once, so its second message is a duplicate.
    const keys = messages.map((message) => inboxKey(message));
    const claimed = await claimInbox(trx, keys);
    const outcomes: EventOutcome[] = messages.map(() => ({ status: "duplicate" }));
    const fresh: PlannedEvent[] = [];
    messages.forEach((message, index) => {
      if (claimed.delete(keys[index] as string))
        fresh.push({ index, event: message.event, change: message.change });
    });
    if (fresh.length === 0) return { outcomes, plan: undefined };

    // (b) Lock what the batch touches, in the global order.
    const wanted = batchKeys(fresh);
    const paymentRows = await lockEntities(trx, paymentsTable, wanted.paymentIntentIds);
    const subscriptionRows = await lockEntities(trx, subscriptionsTable, wanted.subscriptionIds);
    const invoiceRows = await lockEntities(trx, invoicesTable, wanted.invoiceIds);
    // every key read here is serialized by a payment lock held above
    const ledgerEntries = await readLedgerEntries(trx, wanted.ledgerEntries);
    const balances = await lockAccounts(trx, accountsToLock(fresh, ledgerEntries), { create: true });

    // (c) Decide.
    const plan = planBatch(fresh, {
      payments: paymentRows,
      subscriptions: subscriptionRows,
      invoices: invoiceRows,
      ledgerEntries,
      balances,
    });

    // (d) Write.
    await writeEntities(trx, paymentsTable, plan.payments);
    await writeEntities(trx, subscriptionsTable, plan.subscriptions);
    await writeEntities(trx, invoicesTable, plan.invoices);
    await insertCustomers(trx, plan.customers);
    await writePostings(trx, plan.postings, plan.balances);
    await auditStripeEvents(
      trx,
      plan.audited.map((index) => {
        const { event, body } = messages[index] as StripeEventMessage;
        return {
          eventId: event.id,
          type: event.type,
          created: event.created,
          payload: body,
        };
      }),
    );
    await emitAll(trx, plan.outbox);
    const refused: string[] = [];
    for (const [index, result] of plan.results) {
      if (result.status === "applied") outcomes[index] = { status: "applied" };
      else {
        outcomes[index] = { status: "refused", error: result.error };
        refused.push(keys[index] as string);
      }
    }
    // a refused event's claim goes too: its retry (or replay) must find the key free
    await releaseInbox(trx, refused);
    return { outcomes, plan };
  });
}

// Counted once the batch is committed (the inbox makes it once per event).
function countPlan(plan: BatchPlan): void {
  const { counts } = plan;
  if (counts.paymentsSucceeded > 0) payments.inc({ outcome: "succeeded" }, counts.paymentsSucceeded);
  if (counts.paymentsFailed > 0) payments.inc({ outcome: "failed" }, counts.paymentsFailed);
  for (const seconds of counts.paymentProcessingSeconds) paymentProcessing.observe(seconds);
  if (counts.subscriptionsCreated > 0) subscriptionsCreated.inc(counts.subscriptionsCreated);
  for (const type of counts.unhandledTypes) unknownStripeEvents.inc({ type });
  countPostings(plan.postings);
}
