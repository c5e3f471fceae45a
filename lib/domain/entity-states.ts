import type { InvoiceStatus } from "./invoice-status.ts";
import type { PaymentStatus } from "./payment-status.ts";
import type { SubscriptionStatus } from "./subscription-status.ts";

// The rows a batch of Stripe events reads and writes, as the planner sees them: plain values, one
// interface per table, with statuses already checked against their state machine.

export interface PaymentState {
  readonly paymentIntentId: string;
  readonly accountId: string | null;
  readonly amount: number;
  /** Only grows: merged by max whatever the order of events. */
  readonly amountReceived: number;
  /** Cumulative refunded amount already debited from the account. */
  readonly amountRefunded: number;
  readonly currency: string;
  readonly status: PaymentStatus;
  readonly lastError: string | null;
  readonly eventCreated: number;
  readonly eventId: string;
}

export interface SubscriptionState {
  readonly subscriptionId: string;
  readonly customerId: string;
  readonly status: SubscriptionStatus;
  readonly priceId: string | null;
  /** Unix seconds. */
  readonly currentPeriodEnd: number | null;
  readonly cancelAtPeriodEnd: boolean;
  readonly eventCreated: number;
  readonly eventId: string;
}

export interface InvoiceState {
  readonly invoiceId: string;
  readonly customerId: string;
  readonly subscriptionId: string | null;
  readonly status: InvoiceStatus;
  readonly amountDue: number;
  /** Only grows: merged by max. */
  readonly amountPaid: number;
  /** Only grows: merged by max. */
  readonly attemptCount: number;
  readonly currency: string;
  readonly eventCreated: number;
  readonly eventId: string;
}

export interface CustomerState {
  readonly customerId: string;
  readonly accountId: string;
  readonly email: string | null;
}

/** The rows of one table that a plan writes: new ones, and changed ones it holds locked. */
export interface EntityWrites<T> {
  readonly inserts: readonly T[];
  readonly updates: readonly T[];
}

/**
 * The rows of one table while a batch is planned: what was loaded (locked) and what the batch has
 * made of it so far. A row replaced by a new object is a row to write.
 */
export interface WorkingSet<T> {
  get(id: string): T | undefined;
  set(id: string, row: T): void;
  /** Rows first seen in this batch (to insert) and loaded rows changed by it (to update), by id. */
  writes(): EntityWrites<T>;
}

/** A working set over `loaded` (the locked rows, by id). */
export function workingSet<T>(loaded: ReadonlyMap<string, T>): WorkingSet<T> {
  const current = new Map(loaded);
  return {
    get: (id) => current.get(id),
    set: (id, row) => {
      current.set(id, row);
    },
    writes() {
      const inserts: T[] = [];
      const updates: T[] = [];
      // key order: every transaction writes rows of a table in the same order
      for (const id of [...current.keys()].sort()) {
        const row = current.get(id) as T;
        const before = loaded.get(id);
        if (before === undefined) inserts.push(row);
        else if (before !== row) updates.push(row);
      }
      return { inserts, updates };
    },
  };
}
