import type pg from "pg";
import { type Sample, sumSamples } from "../../lib/ops/prometheus-text.ts";
import type { DayPlan } from "./billing-day.ts";
import { expectedStatus } from "./billing-day.ts";
import { balances, bookTotals, ledgerCheck, subscriptionsByAccount } from "./books.ts";
import type { SendCounts } from "./command-batches.ts";
import type { DayRecord } from "./day-runner.ts";
import type { Drained } from "./drain.ts";
import type { DeliveryRecord } from "./emulator-control.ts";
import type { EventsSeen } from "./events-listener.ts";
import type { DayFacts } from "./summary.ts";

/** Everything the summary needs, read once the fleet is quiet (before it is stopped). */
export async function gatherFacts(input: {
  pool: pg.Pool;
  plan: DayPlan;
  record: DayRecord;
  drained: Drained;
  deliveries: readonly DeliveryRecord[];
  workerMetrics: readonly Sample[];
  seen: EventsSeen;
  sent: SendCounts;
  expectedDeadLetters: number;
  seconds: number;
  logDir: string;
  /** The reconciler stretch: its drop rate and the reconciler's metrics, when it ran. */
  reconciler?: { dropRate: number; metrics: readonly Sample[] };
}): Promise<DayFacts> {
  const { pool, plan, record, drained, deliveries, workerMetrics, seen } = input;
  const totals = await bookTotals(pool);
  const ledger = await ledgerCheck(pool);
  const now = await balances(pool);
  const subscriptions = await subscriptionsByAccount(pool);

  const byCurrency: Record<string, number> = {};
  for (const [key, balance] of now) {
    const currency = key.split("/")[1] ?? "";
    byCurrency[currency] = (byCurrency[currency] ?? 0) + balance;
  }
  const wrongBalances = plan.accounts
    .filter((a) => (now.get(`${a.accountId}/${a.currency}`) ?? 0) !== a.expectedBalance)
    .map((a) => `${a.accountId} ${now.get(`${a.accountId}/${a.currency}`) ?? 0} ≠ ${a.expectedBalance}`);

  const byStatus: Record<string, number> = {};
  for (const { status } of subscriptions.values()) byStatus[status] = (byStatus[status] ?? 0) + 1;
  const wrongSubscriptions: string[] = [];
  for (const [accountId, planned] of record.subscriptions) {
    const actual = subscriptions.get(accountId)?.status;
    if (actual !== expectedStatus[planned.path]) {
      wrongSubscriptions.push(
        `${planned.id} (${planned.path}) is ${actual ?? "missing"}, not ${expectedStatus[planned.path]}`,
      );
    }
  }

  const unexpected: string[] = [];
  for (const [id, expected] of record.expectedOutcomes) {
    const actual = record.outcomes.get(id)?.status;
    if (actual !== expected) unexpected.push(`${id} ${actual ?? "no outcome"} (expected ${expected})`);
  }

  const delivered = deliveries.filter((d) => d.deliveries > 0);
  const conflict = record.conflictId === undefined ? undefined : describeConflict(seen, record.conflictId);

  return {
    seconds: input.seconds,
    accounts: plan.accounts.length,
    stripe: {
      emitted: drained.emitted.length,
      webhooksAccepted: deliveries.reduce((sum, d) => sum + d.deliveries, 0),
      duplicatesDelivered: delivered.filter((d) => d.deliveries > 1).length,
      deliveryFailures: deliveries.filter((d) => d.state === "failed").length,
      notApplied: drained.emitted.filter((e) => !drained.applied.has(e.id)).map((e) => `${e.id} ${e.type}`),
      applied: drained.applied.size,
    },
    workers: {
      consumed: sumSamples(workerMetrics, "billing_messages_consumed_total"),
      duplicatesAbsorbed: sumSamples(workerMetrics, "billing_messages_duplicate_total"),
      retried: sumSamples(workerMetrics, "billing_messages_retried_total"),
      deadLettered: sumSamples(workerMetrics, "billing_messages_dead_lettered_total"),
    },
    commands: {
      sentHttp: input.sent.http,
      sentAmqp: input.sent.amqp,
      resent: record.resentCommands,
      succeeded: totals.commandsByStatus.succeeded ?? 0,
      failed: totals.commandsByStatus.failed ?? 0,
      failureCodes: totals.commandFailures,
      unexpected,
      conflict,
    },
    balances: {
      totals: byCurrency,
      wrong: wrongBalances,
      mismatchedLedger: ledger.mismatched.map(
        (m) => `${m.account} balance ${m.balance} ≠ ledger ${m.ledgerSum}`,
      ),
      negative: ledger.negative.map((m) => `${m.account} ${m.balance}`),
      ledgerEntries: totals.ledgerEntries,
    },
    subscriptions: { byStatus, wrong: wrongSubscriptions },
    deadLetters: {
      parked: totals.deadLettersParked,
      expected: input.expectedDeadLetters,
      errors: totals.deadLetterErrors.map((d) => `${d.type ?? "?"}: ${d.error.slice(0, 80)}`),
    },
    domainEvents: {
      outbox: totals.outboxRows,
      published: totals.outboxPublished,
      received: seen.distinct,
      byType: totals.outboxByType,
    },
    ...(input.reconciler === undefined
      ? {}
      : { reconciler: reconcilerFacts(input.reconciler, deliveries, drained) }),
    logDir: input.logDir,
  };
}

/** Dropped webhooks against what was applied: healed ones could only come from the reconciler. */
function reconcilerFacts(
  stretch: { dropRate: number; metrics: readonly Sample[] },
  deliveries: readonly DeliveryRecord[],
  drained: Drained,
): NonNullable<DayFacts["reconciler"]> {
  const dropped = deliveries.filter((d) => d.state === "dropped");
  const notHealed = dropped
    .filter((d) => !drained.applied.has(d.eventId))
    .map((d) => `${d.eventId} ${d.type}`);
  return {
    dropRate: stretch.dropRate,
    dropped: dropped.length,
    healed: dropped.length - notHealed.length,
    enqueued: sumSamples(stretch.metrics, "billing_reconcile_events_missing_total"),
    notHealed,
  };
}

function describeConflict(seen: EventsSeen, id: string): string {
  const result = seen.commandResults.get(id);
  if (result === undefined) return "no command result event seen for it";
  if (result.type === "command.failed") {
    const data = result.data as { error?: { code?: string }; code?: string; reason?: string } | null;
    const code = data?.error?.code ?? data?.code ?? data?.reason ?? "a reason";
    return `refused: command.failed with ${code}; the first outcome stands`;
  }
  return `last result event: ${result.type}`;
}
