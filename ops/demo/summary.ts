import { formatMoney } from "../../lib/domain/money.ts";

// The end-of-day report: facts gathered from the emulator, the workers' metrics and the Contract's
// tables, turned into checks and readable text. Pure.

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface DayFacts {
  readonly seconds: number;
  readonly accounts: number;
  readonly stripe: {
    emitted: number;
    /** 2xx answers to webhook POSTs (duplicates included). */
    webhooksAccepted: number;
    /** Events the emulator POSTed more than once with a 2xx each. */
    duplicatesDelivered: number;
    deliveryFailures: number;
    /** Emitted events with no row in billing.stripe_events once the queue drained. */
    notApplied: readonly string[];
    applied: number;
  };
  readonly workers: { consumed: number; duplicatesAbsorbed: number; retried: number; deadLettered: number };
  readonly commands: {
    sentHttp: number;
    sentAmqp: number;
    resent: number;
    succeeded: number;
    failed: number;
    failureCodes: Record<string, number>;
    /** Command ids whose outcome is not the one the plan expects. */
    unexpected: readonly string[];
    conflict: string | undefined;
  };
  readonly balances: {
    /** Total per currency, minor units. */
    totals: Record<string, number>;
    /** Accounts whose balance is not the plan's. */
    wrong: readonly string[];
    mismatchedLedger: readonly string[];
    negative: readonly string[];
    ledgerEntries: number;
  };
  readonly subscriptions: { byStatus: Record<string, number>; wrong: readonly string[] };
  readonly deadLetters: { parked: number; expected: number; errors: readonly string[] };
  readonly domainEvents: {
    outbox: number;
    published: number;
    received: number;
    byType: Record<string, number>;
  };
  /** The stretch of the day when the emulator lost webhooks and the reconciler healed them. */
  readonly reconciler?: {
    /** The share of webhooks the emulator dropped during the stretch. */
    dropRate: number;
    /** Events whose webhook the emulator dropped (never sent). */
    dropped: number;
    /** Of those, the ones applied all the same (only the reconciler could bring them). */
    healed: number;
    /** Events the reconciler enqueued from GET /v1/events (in-flight ones too, absorbed as duplicates). */
    enqueued: number;
    /** Dropped events still not applied when the queue drained. */
    notHealed: readonly string[];
  };
  readonly logDir: string;
}

/** The checks the demo's exit status depends on. */
export function dayChecks(facts: DayFacts): Check[] {
  const { stripe, balances, commands, subscriptions, deadLetters, domainEvents } = facts;
  const list = (items: readonly string[]) =>
    items.length === 0 ? "" : `: ${items.slice(0, 4).join("; ")}${items.length > 4 ? "; …" : ""}`;
  return [
    {
      name: "every balance equals the sum of its ledger entries",
      ok: balances.mismatchedLedger.length === 0,
      detail: `${facts.accounts} accounts, ${balances.ledgerEntries} ledger entries${list(balances.mismatchedLedger)}`,
    },
    {
      name: "no balance is negative",
      ok: balances.negative.length === 0,
      detail: balances.negative.length === 0 ? "none below zero" : list(balances.negative).slice(2),
    },
    {
      name: "every emitted Stripe event is applied (billing.stripe_events)",
      ok: stripe.notApplied.length === 0 && stripe.emitted > 0,
      detail: `${stripe.applied}/${stripe.emitted} applied${list(stripe.notApplied)}`,
    },
    {
      name: "balances are what the day's arithmetic says (deposits − refunds − accepted charges)",
      ok: balances.wrong.length === 0,
      detail:
        balances.wrong.length === 0 ? "all match" : `${balances.wrong.length} differ${list(balances.wrong)}`,
    },
    {
      name: "every command ended as planned (over-balance charges refused, the rest succeeded)",
      ok: commands.unexpected.length === 0,
      detail:
        commands.unexpected.length === 0
          ? `${commands.succeeded + commands.failed} commands`
          : `${commands.unexpected.length} unexpected${list(commands.unexpected)}`,
    },
    {
      name: "subscriptions end in the planned states despite reordered deliveries",
      ok: subscriptions.wrong.length === 0,
      detail:
        subscriptions.wrong.length === 0
          ? "all match"
          : `${subscriptions.wrong.length} differ${list(subscriptions.wrong)}`,
    },
    {
      name: "the malformed command is parked as a dead letter, and nothing else",
      ok: deadLetters.parked === deadLetters.expected,
      detail: `${deadLetters.parked} parked, ${deadLetters.expected} expected`,
    },
    {
      name: "every domain event in the outbox is published",
      ok: domainEvents.published === domainEvents.outbox,
      detail: `${domainEvents.published}/${domainEvents.outbox} published, ${domainEvents.received} received by a listener`,
    },
    ...(facts.reconciler === undefined
      ? []
      : [
          {
            name: "every webhook the emulator dropped was healed by the reconciler",
            ok: facts.reconciler.notHealed.length === 0 && facts.reconciler.dropped > 0,
            detail: `${facts.reconciler.healed}/${facts.reconciler.dropped} dropped webhooks applied from GET /v1/events${list(facts.reconciler.notHealed)}`,
          },
        ]),
  ];
}

/** The summary as text (no colours; ✓/✗ marks). */
export function renderSummary(facts: DayFacts, checks: readonly Check[]): string {
  const { stripe, workers, commands, balances, subscriptions, deadLetters, domainEvents } = facts;
  const n = (value: number) => value.toLocaleString("en-US");
  const money = Object.entries(balances.totals)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, total]) => formatMoney(total, currency))
    .join(" + ");
  const statuses = Object.entries(subscriptions.byStatus)
    .sort(([, a], [, b]) => b - a)
    .map(([status, count]) => `${status} ${count}`)
    .join(", ");
  const failures = Object.entries(commands.failureCodes)
    .map(([code, count]) => `${code} ${count}`)
    .join(", ");
  const events = Object.entries(domainEvents.byType)
    .sort(([, a], [, b]) => b - a)
    .slice(0, 6)
    .map(([type, count]) => `${type} ${count}`)
    .join(", ");
  const lines = [
    "",
    `Billing day: ${n(facts.accounts)} accounts in ${facts.seconds.toFixed(1)} s`,
    "",
    "  Stripe webhooks",
    `    events emitted by Stripe (emulator)   ${n(stripe.emitted)}`,
    `    webhook POSTs accepted (2xx)           ${n(stripe.webhooksAccepted)}  (${n(stripe.duplicatesDelivered)} duplicate deliveries, reordered within a window${stripe.deliveryFailures > 0 ? `, ${stripe.deliveryFailures} given up` : ""})`,
    `    events applied (billing.stripe_events) ${n(stripe.applied)}`,
    `    duplicates absorbed by the inbox       ${n(workers.duplicatesAbsorbed)}  (workers consumed ${n(workers.consumed)} messages, ${n(workers.retried)} retried)`,
    ...(facts.reconciler === undefined
      ? []
      : [
          `    webhooks lost (emulator drops ${Math.round(facts.reconciler.dropRate * 100)}%)      ${n(facts.reconciler.dropped)}  → healed by the reconciler: ${n(facts.reconciler.healed)}, each applied once (it enqueued ${n(facts.reconciler.enqueued)} from GET /v1/events)`,
        ]),
    "",
    "  Commands",
    `    sent                                   ${n(commands.sentHttp + commands.sentAmqp)}  (${n(commands.sentHttp)} POST /v1/commands, ${n(commands.sentAmqp)} AMQP with lib/client; ${n(commands.resent)} resent with the same id)`,
    `    succeeded / failed                     ${n(commands.succeeded)} / ${n(commands.failed)}${failures === "" ? "" : `  (${failures})`}`,
    ...(commands.conflict === undefined
      ? []
      : [`    same id, other fields                  ${commands.conflict}`]),
    "",
    "  Books",
    `    balances                               ${money === "" ? "none" : money} over ${n(facts.accounts)} accounts, ${n(balances.ledgerEntries)} ledger entries`,
    `    subscriptions                          ${statuses === "" ? "none" : statuses}`,
    `    dead letters parked                    ${n(deadLetters.parked)}${deadLetters.errors.length > 0 ? `  (${deadLetters.errors.join("; ")})` : ""}`,
    `    domain events published                ${n(domainEvents.published)} of ${n(domainEvents.outbox)}  (${events}); a listener received ${n(domainEvents.received)}`,
    "",
    "  Invariants",
    ...checks.map((c) => `    ${c.ok ? "✓" : "✗"} ${c.name} — ${c.detail}`),
    "",
    `  Logs: ${facts.logDir}`,
    "",
    checks.every((c) => c.ok) ? "All invariants hold." : "INVARIANTS VIOLATED: see above.",
  ];
  return lines.join("\n");
}
