import { describe, expect, it } from "vitest";
import * as invoice from "../../lib/domain/invoice-status.ts";
import { checkMachine } from "./machine-checks.ts";

// Invoices: paid and void are final; uncollectible can still be paid or voided.
describe("invoice status machine", () => {
  checkMachine(invoice.invoiceMachine, {
    statuses: ["draft", "open", "paid", "uncollectible", "void"],
    terminal: ["paid", "void"],
    progress: ["draft", "open", "uncollectible", "paid", "void"],
    next: {
      draft: ["open", "paid"],
      open: ["paid", "uncollectible", "void"],
      uncollectible: ["paid", "void"],
      paid: [],
      void: [],
    },
  });

  it("exports the machine's parts under the plain names", () => {
    expect(invoice.statuses).toEqual(invoice.invoiceMachine.statuses);
    expect(invoice.terminal).toBe(invoice.invoiceMachine.terminal);
    expect(invoice.rank).toBe(invoice.invoiceMachine.rank);
    expect(invoice.transitions).toBe(invoice.invoiceMachine.transitions);
    expect(invoice.canTransition("uncollectible", "paid")).toBe(true);
    expect(invoice.canTransition("paid", "open")).toBe(false);
    expect(invoice.isStatus("void")).toBe(true);
    expect(invoice.isTerminal("uncollectible")).toBe(false);
  });
});
