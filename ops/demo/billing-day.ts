import { seededRandom } from "../stripe-emulator/prng.ts";

// The simulated billing day, planned up front from a seed: every command, every step of Stripe's
// clock, and what the books must say at the end. Pure, so the arithmetic is tested on its own.

/** How a subscription's month goes. */
export type SubscriptionPath =
  | "trialing" // still in its trial at the end of the day
  | "renewed" // the period ends and is paid
  | "past_due" // the renewal payment fails
  | "recovered" // fails, then the retry is paid
  | "canceled_now" // canceled at once
  | "canceled_at_period_end"; // canceled at period end, then the period ends

export interface SubscriptionPlan {
  readonly priceId: string;
  readonly trialDays?: number;
  readonly path: SubscriptionPath;
}

export interface ChargePlan {
  readonly amount: number;
  /** False: more than the balance, refused with no debit whatever the order of the others. */
  readonly fits: boolean;
}

export interface AccountPlan {
  readonly accountId: string;
  readonly email: string;
  readonly currency: string;
  /** Its commands go over AMQP with lib/client (when there) instead of POST /v1/commands. */
  readonly overAmqp: boolean;
  /** Deposit amounts, distinct within the account (they identify the PaymentIntent). */
  readonly deposits: readonly number[];
  /** A refund of the first deposit: an amount, or "full". */
  readonly refund?: number | "full";
  readonly charges: readonly ChargePlan[];
  readonly subscription?: SubscriptionPlan;
  /** The balance once the day is over: deposits − refund − the charges that fit. */
  readonly expectedBalance: number;
}

export interface DayPlan {
  readonly accounts: readonly AccountPlan[];
  /** Deposit commands sent a second time with the same id (one effect expected). */
  readonly resentDeposits: number;
}

/** Stripe events one account makes on average (measured on the emulator); sizes the day from --events. */
export const eventsPerAccount = 13;

/** The final subscription status each path must end in. */
export const expectedStatus: Readonly<Record<SubscriptionPath, string>> = {
  trialing: "trialing",
  renewed: "active",
  past_due: "past_due",
  recovered: "active",
  canceled_now: "canceled",
  canceled_at_period_end: "canceled",
};

const prices = ["price_basic_1500", "price_team_4900", "price_pro_9900"] as const;

/** The day for about `events` Stripe events, from `seed`. */
export function planBillingDay(events: number, seed: number): DayPlan {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number) => random() < p;
  const accountCount = Math.max(4, Math.round(events / eventsPerAccount));
  const accounts: AccountPlan[] = [];
  let resentDeposits = 0;

  for (let i = 0; i < accountCount; i += 1) {
    const accountId = `acct_${String(i + 1).padStart(4, "0")}`;
    const currency = chance(0.2) ? "eur" : "usd";
    const deposits = distinctAmounts(1 + Math.floor(random() * 3), random);
    const first = deposits[0] ?? 0;
    const total = deposits.reduce((sum, amount) => sum + amount, 0);

    let refund: number | "full" | undefined;
    let refunded = 0;
    if (chance(0.35)) {
      if (chance(0.25)) {
        refund = "full";
        refunded = first;
      } else {
        refund = Math.max(100, Math.floor((first * 0.25) / 100) * 100);
        refunded = refund;
      }
    }

    // Charges that fit use at most 60% of what is left, so no order of them can be refused.
    const left = total - refunded;
    const charges: ChargePlan[] = [];
    for (const share of [0.3, 0.2, 0.1].slice(0, 1 + Math.floor(random() * 3))) {
      const amount = Math.floor(left * share);
      if (amount >= 1) charges.push({ amount, fits: true });
    }
    if (chance(0.4)) charges.push({ amount: left + 1 + Math.floor(random() * 5000), fits: false });
    const charged = charges.filter((c) => c.fits).reduce((sum, c) => sum + c.amount, 0);

    let subscription: SubscriptionPlan | undefined;
    if (chance(0.6)) {
      const trial = chance(0.4);
      const paths: SubscriptionPath[] = [
        "renewed",
        "renewed",
        "past_due",
        "recovered",
        "canceled_now",
        "canceled_at_period_end",
      ];
      const path = trial && chance(0.3) ? "trialing" : pick(paths);
      subscription = { priceId: pick(prices), ...(trial ? { trialDays: 14 } : {}), path };
    }

    if (chance(0.1)) resentDeposits += 1;
    accounts.push({
      accountId,
      email: `${accountId}@demo.example`,
      currency,
      overAmqp: i % 2 === 1,
      deposits,
      ...(refund === undefined ? {} : { refund }),
      charges,
      ...(subscription === undefined ? {} : { subscription }),
      expectedBalance: left - charged,
    });
  }
  return { accounts, resentDeposits: Math.min(resentDeposits, accountCount) };
}

// Whole amounts between 20.00 and 500.00, all different.
function distinctAmounts(count: number, random: () => number): number[] {
  const amounts = new Set<number>();
  while (amounts.size < count) amounts.add((20 + Math.floor(random() * 481)) * 100);
  return [...amounts];
}
