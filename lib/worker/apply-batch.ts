import { inboxKey, type StripeEventMessage } from "../amqp/inbound-message.ts";
import type { Db } from "../db/database.ts";
import { writeParts } from "../db/write-parts.ts";
import {
  accountsToLock,
  type BatchPlan,
  batchKeys,
  type PlannedEvent,
  planBatch,
} from "../domain/batch-plan.ts";
import { type BillingError, TransientError } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import {
  paymentProcessing,
  payments,
  subscriptionsCreated,
  unknownStripeEvents,
} from "../metrics/registry.ts";
import { customersPart } from "../tables/customers.ts";
import { entityWriteParts, lockEntities } from "../tables/entity-table.ts";
import { claimInbox, inboxHolds } from "../tables/inbox.ts";
import { invoicesTable } from "../tables/invoices.ts";
import { countPostings, lockAccounts, postingsPart, readLedgerEntries } from "../tables/ledger.ts";
import { outboxPart } from "../tables/outbox.ts";
import { paymentsTable } from "../tables/payments.ts";
import { auditPart } from "../tables/stripe-events.ts";
import { subscriptionsTable } from "../tables/subscriptions.ts";
import { withQuickRetries } from "./quick-retry.ts";

// Applies a batch of Stripe events in ONE transaction with a fixed number of statements, whatever
// its size: (a) read which keys the inbox holds; (b) lock every row the batch touches, one
// statement per table, in one global order (payments, subscriptions, invoices, then accounts; each
// in key order); (c) decide every effect in pure code (lib/domain/batch-plan.ts); (d) claim the
// inbox keys of what applies, then write every table, audit and outbox included, in one statement
// (each table's rows set-based); (e) commit. The caller acks after this resolves.

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
    // (a) A key already in the inbox, or twice in the batch, is a duplicate.
    const keys = messages.map((message) => inboxKey(message));
    const seen = await inboxHolds(trx, keys);
    const outcomes: EventOutcome[] = messages.map(() => ({ status: "duplicate" }));
    const fresh: PlannedEvent[] = [];
    messages.forEach((message, index) => {
      const key = keys[index] as string;
      if (seen.has(key)) return;
      seen.add(key);
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

    // (d) Write: first the inbox keys of what applies (a refused event claims nothing, so its retry
    // finds its key free). Another worker that claimed one of them since (a) made this plan stale:
    // its claim is waited for, then found, and the batch is retried, now seeing a duplicate.
    const applied = plan.audited.map((index) => keys[index] as string);
    const claimed = await claimInbox(trx, applied);
    if (claimed.size !== new Set(applied).size) {
      throw new TransientError(
        "serialization_failure",
        "a message of the batch was applied meanwhile; retried",
      );
    }
    // ... then every table in ONE statement, in this order (lib/db/write-parts.ts).
    await writeParts(trx, [
      ...entityWriteParts(paymentsTable, plan.payments),
      ...entityWriteParts(subscriptionsTable, plan.subscriptions),
      ...entityWriteParts(invoicesTable, plan.invoices),
      customersPart(plan.customers),
      postingsPart(plan.postings, plan.balances),
      auditPart(
        plan.audited.map((index) => {
          const { event, body } = messages[index] as StripeEventMessage;
          return { eventId: event.id, type: event.type, created: event.created, payload: body };
        }),
      ),
      outboxPart(plan.outbox),
    ]);
    for (const [index, result] of plan.results) {
      outcomes[index] =
        result.status === "applied" ? { status: "applied" } : { status: "refused", error: result.error };
    }
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
