import { defineStateMachine } from "./state-machine.ts";

// A subscription's status exactly as Stripe names it. incomplete_expired and canceled are final.

export const statuses = [
  "incomplete",
  "incomplete_expired",
  "trialing",
  "active",
  "past_due",
  "unpaid",
  "canceled",
  "paused",
] as const;

export type SubscriptionStatus = (typeof statuses)[number];

export const subscriptionMachine = defineStateMachine<SubscriptionStatus>({
  name: "subscription",
  statuses,
  terminal: ["incomplete_expired", "canceled"],
  rank: {
    incomplete: 0,
    trialing: 1,
    active: 2,
    past_due: 3,
    unpaid: 4,
    paused: 5,
    incomplete_expired: 6,
    canceled: 7,
  },
  transitions: [
    ["incomplete", "trialing"],
    ["incomplete", "active"],
    ["incomplete", "incomplete_expired"],
    ["incomplete", "canceled"],
    ["trialing", "active"],
    ["trialing", "past_due"],
    ["trialing", "unpaid"],
    ["trialing", "paused"],
    ["trialing", "canceled"],
    ["active", "trialing"],
    ["active", "past_due"],
    ["active", "unpaid"],
    ["active", "paused"],
    ["active", "canceled"],
    ["past_due", "active"],
    ["past_due", "unpaid"],
    ["past_due", "canceled"],
    ["unpaid", "active"],
    ["unpaid", "canceled"],
    ["paused", "active"],
    ["paused", "canceled"],
  ],
});

export const { terminal, rank, transitions, isStatus, isTerminal, canTransition } = subscriptionMachine;
