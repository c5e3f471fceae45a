import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import type { Command } from "../../lib/domain/commands.ts";
import { waitFor } from "../fleet-runner/wait.ts";
import type { AccountPlan, DayPlan, SubscriptionPath } from "./billing-day.ts";
import { balances, type CommandRow, paymentsByAccount, subscriptionsByAccount } from "./books.ts";
import type { CommandBatches, Outgoing } from "./command-batches.ts";
import type { EmulatorControl, SimulationStep } from "./emulator-control.ts";
import type { Progress } from "./progress.ts";

/** What the day did, for the summary. */
export interface DayRecord {
  /** Every command id sent, with the outcome the plan expects. */
  expectedOutcomes: Map<string, "succeeded" | "failed">;
  /** Outcomes as billing.commands recorded them. */
  outcomes: Map<string, CommandRow>;
  /** Subscription ids by account. */
  subscriptions: Map<string, { id: string; path: SubscriptionPath }>;
  resentCommands: number;
  simulationSteps: number;
  /** The id reused with different fields (an idempotency conflict). */
  conflictId: string | undefined;
}

export interface DayContext {
  readonly plan: DayPlan;
  readonly runId: string;
  readonly pool: pg.Pool;
  readonly batches: CommandBatches;
  readonly emulator: EmulatorControl;
  readonly progress: Progress;
}

/** The day's phases, in order (the progress bar's denominator). */
export const dayPhases = [
  "customers",
  "deposits",
  "refunds",
  "balance charges",
  "subscriptions",
  "trial ends",
  "failed renewals",
  "cancellations",
  "renewals",
] as const;

/** Runs the simulated day against the fleet: commands, then Stripe's clock. */
export async function runBillingDay(context: DayContext): Promise<DayRecord> {
  const { plan, runId, pool, batches, emulator, progress } = context;
  const record: DayRecord = {
    expectedOutcomes: new Map(),
    outcomes: new Map(),
    subscriptions: new Map(),
    resentCommands: 0,
    simulationSteps: 0,
    conflictId: undefined,
  };
  const id = (account: AccountPlan, what: string) => `${runId}:${account.accountId}:${what}`;
  const phase = async (
    name: string,
    outgoing: Outgoing[],
    expect: (o: Outgoing) => "succeeded" | "failed",
  ) => {
    progress.phase(name, outgoing.length * 2);
    for (const o of outgoing) record.expectedOutcomes.set(o.command.id, expect(o));
    const rows = await batches.run(outgoing, progress);
    for (const [key, row] of rows) record.outcomes.set(key, row);
  };
  const succeed = () => "succeeded" as const;
  const via = (account: AccountPlan, command: Command): Outgoing => ({ command, overAmqp: account.overAmqp });

  // Customers.
  await phase(
    "customers",
    plan.accounts.map((a) =>
      via(a, { id: id(a, "customer"), type: "customer.ensure", accountId: a.accountId, email: a.email }),
    ),
    succeed,
  );
  progress.done();

  // Deposits, some sent twice with the same id; then the balances must show every credit once.
  const deposits = plan.accounts.flatMap((a) =>
    a.deposits.map((amount, k) =>
      via(a, {
        id: id(a, `deposit-${k}`),
        type: "deposit.create",
        accountId: a.accountId,
        amount,
        currency: a.currency,
      }),
    ),
  );
  await phase("deposits", deposits, succeed);
  const resend = plan.accounts
    .slice(0, plan.resentDeposits)
    .map((a) => deposits.find((d) => d.command.id === id(a, "deposit-0")) as Outgoing);
  await batches.sendOnly(resend);
  record.resentCommands = resend.length;
  const first = plan.accounts[0];
  if (first !== undefined) {
    // the same id with different fields: refused as an idempotency conflict, nothing moves
    const original = deposits[0]?.command;
    if (original?.type === "deposit.create") {
      record.conflictId = original.id;
      await batches.sendOnly([{ command: { ...original, amount: original.amount + 100 }, overAmqp: false }]);
    }
  }
  await waitForBalances(pool, plan.accounts, (a) => sum(a.deposits), "deposits credited");
  progress.done();

  // Refunds of first deposits: the PaymentIntent is found by its account and amount.
  const payments = await paymentsByAccount(pool);
  const refunds: Outgoing[] = [];
  for (const a of plan.accounts) {
    if (a.refund === undefined) continue;
    const payment = payments.get(a.accountId)?.find((p) => p.amount === a.deposits[0]);
    if (payment === undefined)
      throw new Error(`no payment of ${a.deposits[0]} for ${a.accountId} in billing.payments`);
    refunds.push(
      via(a, {
        id: id(a, "refund"),
        type: "payment.refund",
        paymentIntentId: payment.id,
        ...(a.refund === "full" ? {} : { amount: a.refund }),
      }),
    );
  }
  await phase("refunds", refunds, succeed);
  await waitForBalances(pool, plan.accounts, (a) => sum(a.deposits) - refundOf(a), "refunds debited");
  progress.done();

  // Balance charges, interleaved across accounts; those over the balance are refused.
  const charges: Outgoing[] = [];
  const depth = Math.max(0, ...plan.accounts.map((a) => a.charges.length));
  for (let k = 0; k < depth; k += 1) {
    for (const a of plan.accounts) {
      const charge = a.charges[k];
      if (charge === undefined) continue;
      const command: Command = {
        id: id(a, `charge-${k}`),
        type: "balance.charge",
        accountId: a.accountId,
        amount: charge.amount,
        currency: a.currency,
        reason: charge.fits ? "usage for the day" : "annual plan upgrade",
      };
      charges.push(via(a, command));
      record.expectedOutcomes.set(command.id, charge.fits ? "succeeded" : "failed");
    }
  }
  progress.phase("balance charges", charges.length * 2);
  for (const [key, row] of await batches.run(charges, progress)) record.outcomes.set(key, row);
  progress.done();

  // Subscriptions, some with a trial.
  const subscribers = plan.accounts.filter((a) => a.subscription !== undefined);
  await phase(
    "subscriptions",
    subscribers.map((a) =>
      via(a, {
        id: id(a, "subscription"),
        type: "subscription.create",
        accountId: a.accountId,
        priceId: a.subscription?.priceId ?? "",
        ...(a.subscription?.trialDays === undefined ? {} : { trialDays: a.subscription.trialDays }),
      }),
    ),
    succeed,
  );
  const found = await waitFor(
    async () => {
      const rows = await subscriptionsByAccount(pool);
      return subscribers.every((a) => rows.has(a.accountId)) ? rows : undefined;
    },
    { timeoutMs: 30_000, describe: () => "subscriptions did not all reach billing.subscriptions in 30 s" },
  );
  for (const a of subscribers) {
    const row = found.get(a.accountId);
    if (row !== undefined && a.subscription !== undefined) {
      record.subscriptions.set(a.accountId, { id: row.id, path: a.subscription.path });
    }
  }
  progress.done();

  // Stripe's clock. Each step waits for the next second so that a later state carries a later
  // event.created: at Stripe, too, only that orders two snapshots of one subscription.
  const subs = [...record.subscriptions.entries()].map(([accountId, s]) => ({
    ...s,
    account: plan.accounts.find((a) => a.accountId === accountId) as AccountPlan,
  }));
  const simulate = async (
    name: string,
    step: SimulationStep,
    paths: SubscriptionPath[],
    trialOnly = false,
  ) => {
    const chosen = subs.filter(
      (s) => paths.includes(s.path) && (!trialOnly || s.account.subscription?.trialDays !== undefined),
    );
    progress.phase(name, chosen.length);
    await nextSecond();
    let done = 0;
    for (const s of chosen) {
      await emulator.simulate(s.id, step);
      done += 1;
      progress.update(done);
    }
    record.simulationSteps += chosen.length;
    progress.done();
  };
  const afterTrial: SubscriptionPath[] = [
    "renewed",
    "past_due",
    "recovered",
    "canceled_now",
    "canceled_at_period_end",
  ];
  await simulate("trial ends", "trial_end", afterTrial, true);
  await simulate("failed renewals", "fail_payment", ["past_due", "recovered"]);

  await nextSecond();
  await phase(
    "cancellations",
    subs
      .filter((s) => s.path === "canceled_now" || s.path === "canceled_at_period_end")
      .map((s) =>
        via(s.account, {
          id: id(s.account, "cancel"),
          type: "subscription.cancel",
          subscriptionId: s.id,
          atPeriodEnd: s.path === "canceled_at_period_end",
        }),
      ),
    succeed,
  );
  progress.done();
  await simulate("renewals", "renew", ["renewed", "recovered", "canceled_at_period_end"]);
  return record;
}

/** The amount the plan refunds from an account. */
export function refundOf(account: AccountPlan): number {
  if (account.refund === undefined) return 0;
  return account.refund === "full" ? (account.deposits[0] ?? 0) : account.refund;
}

async function waitForBalances(
  pool: pg.Pool,
  accounts: readonly AccountPlan[],
  expected: (a: AccountPlan) => number,
  what: string,
): Promise<void> {
  let wrong: string[] = [];
  await waitFor(
    async () => {
      const now = await balances(pool);
      wrong = accounts
        .filter((a) => (now.get(`${a.accountId}/${a.currency}`) ?? 0) !== expected(a))
        .map((a) => `${a.accountId}: ${now.get(`${a.accountId}/${a.currency}`) ?? 0} ≠ ${expected(a)}`);
      return wrong.length === 0 ? true : undefined;
    },
    {
      timeoutMs: 45_000,
      intervalMs: 150,
      describe: () =>
        `${what}: ${wrong.length} balances still differ after 45 s (${wrong.slice(0, 3).join("; ")})`,
    },
  );
}

async function nextSecond(): Promise<void> {
  await sleep(1005 - (Date.now() % 1000));
}

function sum(values: readonly number[]): number {
  return values.reduce((total, v) => total + v, 0);
}
