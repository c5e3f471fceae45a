import { describe, expect, it } from "vitest";
import * as payment from "../../lib/domain/payment-status.ts";
import { checkMachine } from "./machine-checks.ts";

// Payments: succeeded and canceled are final; "failed" is ours and can still be retried to success.
describe("payment status machine", () => {
  checkMachine(payment.paymentMachine, {
    statuses: [
      "requires_payment_method",
      "requires_confirmation",
      "requires_action",
      "processing",
      "requires_capture",
      "succeeded",
      "failed",
      "canceled",
    ],
    terminal: ["succeeded", "canceled"],
    progress: [
      "requires_payment_method",
      "requires_confirmation",
      "requires_action",
      "processing",
      "requires_capture",
      "failed",
      "succeeded",
      "canceled",
    ],
    next: {
      requires_payment_method: [
        "requires_confirmation",
        "requires_action",
        "processing",
        "requires_capture",
        "succeeded",
        "failed",
        "canceled",
      ],
      requires_confirmation: [
        "requires_payment_method",
        "requires_action",
        "processing",
        "requires_capture",
        "succeeded",
        "failed",
        "canceled",
      ],
      requires_action: [
        "requires_payment_method",
        "processing",
        "requires_capture",
        "succeeded",
        "failed",
        "canceled",
      ],
      processing: ["requires_payment_method", "requires_capture", "succeeded", "failed", "canceled"],
      requires_capture: ["processing", "succeeded", "canceled"],
      failed: [
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
        "processing",
        "requires_capture",
        "succeeded",
        "canceled",
      ],
      succeeded: [],
      canceled: [],
    },
  });

  it("exports the machine's parts under the plain names", () => {
    expect(payment.statuses).toEqual(payment.paymentMachine.statuses);
    expect(payment.terminal).toBe(payment.paymentMachine.terminal);
    expect(payment.rank).toBe(payment.paymentMachine.rank);
    expect(payment.transitions).toBe(payment.paymentMachine.transitions);
    expect(payment.canTransition("failed", "succeeded")).toBe(true);
    expect(payment.canTransition("succeeded", "failed")).toBe(false);
    expect(payment.isStatus("failed")).toBe(true);
    expect(payment.isTerminal("canceled")).toBe(true);
  });
});
