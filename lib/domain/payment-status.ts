import { defineStateMachine } from "./state-machine.ts";

// A PaymentIntent's status as Stripe names it, plus our own "failed": Stripe moves a declined
// PaymentIntent back to requires_payment_method; we record payment_intent.payment_failed as failed.

export const statuses = [
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
  "processing",
  "requires_capture",
  "succeeded",
  "failed",
  "canceled",
] as const;

export type PaymentStatus = (typeof statuses)[number];

export const paymentMachine = defineStateMachine<PaymentStatus>({
  name: "payment",
  statuses,
  terminal: ["succeeded", "canceled"],
  rank: {
    requires_payment_method: 0,
    requires_confirmation: 1,
    requires_action: 2,
    processing: 3,
    requires_capture: 4,
    failed: 5,
    succeeded: 6,
    canceled: 7,
  },
  // Any live status may be confirmed, fail or be canceled; a failed attempt may be retried.
  transitions: [
    ["requires_payment_method", "requires_confirmation"],
    ["requires_payment_method", "requires_action"],
    ["requires_payment_method", "processing"],
    ["requires_payment_method", "requires_capture"],
    ["requires_payment_method", "succeeded"],
    ["requires_payment_method", "failed"],
    ["requires_payment_method", "canceled"],
    ["requires_confirmation", "requires_payment_method"],
    ["requires_confirmation", "requires_action"],
    ["requires_confirmation", "processing"],
    ["requires_confirmation", "requires_capture"],
    ["requires_confirmation", "succeeded"],
    ["requires_confirmation", "failed"],
    ["requires_confirmation", "canceled"],
    ["requires_action", "requires_payment_method"],
    ["requires_action", "processing"],
    ["requires_action", "requires_capture"],
    ["requires_action", "succeeded"],
    ["requires_action", "failed"],
    ["requires_action", "canceled"],
    ["processing", "requires_payment_method"],
    ["processing", "requires_capture"],
    ["processing", "succeeded"],
    ["processing", "failed"],
    ["processing", "canceled"],
    ["requires_capture", "processing"],
    ["requires_capture", "succeeded"],
    ["requires_capture", "canceled"],
    ["failed", "requires_payment_method"],
    ["failed", "requires_confirmation"],
    ["failed", "requires_action"],
    ["failed", "processing"],
    ["failed", "requires_capture"],
    ["failed", "succeeded"],
    ["failed", "canceled"],
  ],
});

export const { terminal, rank, transitions, isStatus, isTerminal, canTransition } = paymentMachine;
