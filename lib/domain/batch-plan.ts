import { type DomainEvent, type DomainEventType, domainEvent } from "./domain-events.ts";
import type {
  CustomerState,
  EntityWrites,
  InvoiceState,
  PaymentState,
  SubscriptionState,
} from "./entity-states.ts";
import { workingSet } from "./entity-states.ts";
import type { BillingError } from "./errors.ts";
import { type LedgerKind, ledgerSourceId } from "./ledger.ts";
import { accountKey, createLedgerBook, type LedgerEntryState, type Posting } from "./ledger-book.ts";
import { planPaymentEvent, planRefund } from "./plan-payments.ts";
import { planInvoiceEvent, planSubscriptionEvent } from "./plan-snapshots.ts";
import type { StripeChange } from "./stripe-change.ts";
import type { StripeEventHead } from "./stripe-event.ts";

// Every effect of a batch of Stripe events, decided in pure code against the rows the batch
// loaded under lock: which rows to insert or update, which ledger postings (planned against the
// loaded balances, each key once), which domain events, and which events must be refused on their
// own (retried or dead-lettered) while their neighbours apply. The writer then writes each table
// in one statement, so a batch costs a fixed number of statements whatever its size.

/** One fresh event of the batch (its inbox claim succeeded). */
export interface PlannedEvent {
  /** Its position in the batch, to map results back. */
  readonly index: number;
  readonly event: StripeEventHead;
  readonly change: StripeChange;
}

/** What the batch found in Postgres, every row locked (accounts: locked or created). */
export interface LoadedState {
  readonly payments: ReadonlyMap<string, PaymentState>;
  readonly subscriptions: ReadonlyMap<string, SubscriptionState>;
  readonly invoices: ReadonlyMap<string, InvoiceState>;
  /** Entries found among `BatchKeys.ledgerEntries` (and the deposit credits of refunded payments). */
  readonly ledgerEntries: readonly LedgerEntryState[];
  /** Balances by accountKey, for every account of `accountsToLock`. */
  readonly balances: ReadonlyMap<string, number>;
}

/** The rows a batch must load, per table. */
export interface BatchKeys {
  readonly paymentIntentIds: readonly string[];
  readonly subscriptionIds: readonly string[];
  readonly invoiceIds: readonly string[];
  readonly ledgerEntries: ReadonlyArray<{ readonly kind: LedgerKind; readonly sourceId: string }>;
}

export type PlanResult =
  | { readonly status: "applied" }
  | { readonly status: "refused"; readonly error: BillingError };

/** What happened for the metrics, counted once the batch commits. */
export interface PlanCounts {
  paymentsSucceeded: number;
  paymentsFailed: number;
  /** Seconds from a PaymentIntent's creation to the event that settled it (Stripe's clock). */
  readonly paymentProcessingSeconds: number[];
  subscriptionsCreated: number;
  readonly unhandledTypes: string[];
}

export interface BatchPlan {
  /** By PlannedEvent.index. */
  readonly results: ReadonlyMap<number, PlanResult>;
  readonly payments: EntityWrites<PaymentState>;
  readonly subscriptions: EntityWrites<SubscriptionState>;
  readonly invoices: EntityWrites<InvoiceState>;
  /** Account mappings to insert (the first mapping of a customer stays). */
  readonly customers: readonly CustomerState[];
  readonly postings: readonly Posting[];
  /** The balance of every account a posting moves, after the batch: what the writer must find. */
  readonly balances: ReadonlyMap<string, number>;
  readonly outbox: readonly DomainEvent[];
  /** Indexes of the events to audit in stripe_events: every applied one. */
  readonly audited: readonly number[];
  readonly counts: PlanCounts;
}

/** What a family planner gets: the batch's working rows, its ledger, and where effects go. */
export interface PlanContext {
  readonly payments: ReturnType<typeof workingSet<PaymentState>>;
  readonly subscriptions: ReturnType<typeof workingSet<SubscriptionState>>;
  readonly invoices: ReturnType<typeof workingSet<InvoiceState>>;
  readonly book: ReturnType<typeof createLedgerBook>;
  readonly counts: PlanCounts;
  /** Adds the domain event `type` caused by `sourceId` (its id derives from both; once per batch). */
  emit(type: DomainEventType, sourceId: string, data: Record<string, unknown>): void;
}

// Payments before refunds, so a refund that arrives with its deposit finds the credit; every
// other family is independent. Within a family the batch's order is kept.
const familyOrder: Readonly<Record<StripeChange["family"], number>> = {
  customer: 0,
  payment: 1,
  refund: 2,
  subscription: 3,
  invoice: 4,
  none: 5,
};

/** The rows to load for these events, each list in key order. */
export function batchKeys(events: readonly PlannedEvent[]): BatchKeys {
  const payments = new Set<string>();
  const subscriptions = new Set<string>();
  const invoices = new Set<string>();
  const entries = new Map<string, { kind: LedgerKind; sourceId: string }>();
  const entry = (kind: LedgerKind, sourceId: string) =>
    entries.set(`${kind}\u0000${sourceId}`, { kind, sourceId });
  for (const { change, event } of events) {
    switch (change.family) {
      case "payment":
        payments.add(change.facts.paymentIntentId);
        if (event.type === "payment_intent.succeeded" && change.facts.accountId !== undefined) {
          entry("deposit_credit", ledgerSourceId("deposit_credit", change.facts.paymentIntentId));
        }
        break;
      case "refund": {
        const { paymentIntentId, amountRefunded } = change.facts;
        payments.add(paymentIntentId);
        entry("deposit_credit", ledgerSourceId("deposit_credit", paymentIntentId));
        if (amountRefunded > 0)
          entry("refund_debit", ledgerSourceId("refund_debit", paymentIntentId, amountRefunded));
        break;
      }
      case "subscription":
        subscriptions.add(change.facts.subscriptionId);
        break;
      case "invoice":
        invoices.add(change.facts.invoiceId);
        break;
      case "customer":
      case "none":
        break;
    }
  }
  return {
    paymentIntentIds: [...payments].sort(),
    subscriptionIds: [...subscriptions].sort(),
    invoiceIds: [...invoices].sort(),
    ledgerEntries: [...entries.values()],
  };
}

/**
 * The accounts to lock (or create) before planning, in key order: those a deposit of the batch
 * credits and those a refund of the batch debits (the account its deposit credited).
 */
export function accountsToLock(
  events: readonly PlannedEvent[],
  entries: readonly LedgerEntryState[],
): ReadonlyArray<{ readonly accountId: string; readonly currency: string }> {
  const credits = new Map<string, LedgerEntryState>();
  for (const entry of entries) if (entry.kind === "deposit_credit") credits.set(entry.sourceId, entry);
  const accounts = new Map<string, { accountId: string; currency: string }>();
  const add = (accountId: string, currency: string) =>
    accounts.set(accountKey(accountId, currency), { accountId, currency });
  for (const { change, event } of events) {
    if (change.family === "payment" && event.type === "payment_intent.succeeded") {
      if (change.facts.accountId !== undefined) add(change.facts.accountId, change.facts.currency);
    } else if (change.family === "refund") {
      const credit = credits.get(ledgerSourceId("deposit_credit", change.facts.paymentIntentId));
      if (credit !== undefined) add(credit.accountId, credit.currency);
    }
  }
  return [...accounts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, account]) => account);
}

/** Decides every effect of `events` against `loaded`. */
export function planBatch(events: readonly PlannedEvent[], loaded: LoadedState): BatchPlan {
  const counts: PlanCounts = {
    paymentsSucceeded: 0,
    paymentsFailed: 0,
    paymentProcessingSeconds: [],
    subscriptionsCreated: 0,
    unhandledTypes: [],
  };
  const outbox = new Map<string, DomainEvent>();
  const results = new Map<number, PlanResult>();
  const customers = new Map<string, CustomerState>();
  const audited: number[] = [];
  const base = {
    payments: workingSet(loaded.payments),
    subscriptions: workingSet(loaded.subscriptions),
    invoices: workingSet(loaded.invoices),
    book: createLedgerBook({ balances: loaded.balances, entries: loaded.ledgerEntries }),
    counts,
  };

  const ordered = [...events].sort((a, b) => familyOrder[a.change.family] - familyOrder[b.change.family]);
  for (const planned of ordered) {
    const { event } = planned;
    // An event's effects stay pending until its planner returns without refusing it.
    const emitted: DomainEvent[] = [];
    const context: PlanContext = {
      ...base,
      emit(type, sourceId, data) {
        emitted.push(
          domainEvent({
            type,
            sourceId,
            correlationId: event.id,
            // Stripe's time of the change, not ours: a redelivery rebuilds the same body
            occurredAt: new Date(event.created * 1000),
            data,
          }),
        );
      },
    };
    const refusal = planOne(context, planned, customers);
    if (refusal !== undefined) {
      results.set(planned.index, { status: "refused", error: refusal });
      continue;
    }
    for (const domain of emitted) if (!outbox.has(domain.id)) outbox.set(domain.id, domain);
    results.set(planned.index, { status: "applied" });
    audited.push(planned.index);
  }

  return {
    results,
    payments: base.payments.writes(),
    subscriptions: base.subscriptions.writes(),
    invoices: base.invoices.writes(),
    customers: [...customers.values()].sort((a, b) => (a.customerId < b.customerId ? -1 : 1)),
    postings: base.book.postings(),
    balances: base.book.movedBalances(),
    outbox: [...outbox.values()],
    audited: audited.sort((a, b) => a - b),
    counts,
  };
}

/** Plans one event; returns the error that refuses it, having changed nothing, or undefined. */
function planOne(
  context: PlanContext,
  planned: PlannedEvent,
  customers: Map<string, CustomerState>,
): BillingError | undefined {
  const { event, change } = planned;
  switch (change.family) {
    case "payment":
      planPaymentEvent(context, event, change.facts, change.objectCreated);
      return undefined;
    case "refund":
      return planRefund(context, change.facts);
    case "subscription":
      planSubscriptionEvent(context, event, change.facts);
      return undefined;
    case "invoice":
      planInvoiceEvent(context, event, change.facts);
      return undefined;
    case "customer": {
      // a customer made outside billing (no account) is only audited; the first mapping stays
      const { customerId, accountId, email } = change.facts;
      if (accountId !== undefined && !customers.has(customerId))
        customers.set(customerId, { customerId, accountId, email });
      return undefined;
    }
    case "none":
      context.counts.unhandledTypes.push(event.type);
      return undefined;
  }
}
