import { defineStateMachine } from "./state-machine.ts";

// An invoice's status exactly as Stripe names it. paid and void are final; uncollectible is not
// (it can still be paid or voided).

export const statuses = ["draft", "open", "paid", "uncollectible", "void"] as const;

export type InvoiceStatus = (typeof statuses)[number];

export const invoiceMachine = defineStateMachine<InvoiceStatus>({
  name: "invoice",
  statuses,
  terminal: ["paid", "void"],
  rank: { draft: 0, open: 1, uncollectible: 2, paid: 3, void: 4 },
  transitions: [
    // a draft with nothing to pay is marked paid as it is finalized
    ["draft", "open"],
    ["draft", "paid"],
    ["open", "paid"],
    ["open", "uncollectible"],
    ["open", "void"],
    ["uncollectible", "paid"],
    ["uncollectible", "void"],
  ],
});

export const { terminal, rank, transitions, isStatus, isTerminal, canTransition } = invoiceMachine;
