/** How a card payment ends: success, or a decline with Stripe's codes and message. */
export type CardOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: string; readonly declineCode: string; readonly message: string };

// Stripe's test PaymentMethod tokens that decline; every other `pm_…` (e.g. pm_card_visa) succeeds.
const declines: Record<string, CardOutcome> = {
  pm_card_chargeDeclined: {
    ok: false,
    code: "card_declined",
    declineCode: "generic_decline",
    message: "Your card was declined.",
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    ok: false,
    code: "card_declined",
    declineCode: "insufficient_funds",
    message: "Your card has insufficient funds.",
  },
  pm_card_chargeDeclinedExpiredCard: {
    ok: false,
    code: "expired_card",
    declineCode: "expired_card",
    message: "Your card has expired.",
  },
  pm_card_chargeDeclinedProcessingError: {
    ok: false,
    code: "processing_error",
    declineCode: "processing_error",
    message: "An error occurred while processing your card. Try again in a little bit.",
  },
};

/** The outcome of charging a payment method (Stripe's test tokens). */
export function cardOutcome(paymentMethod: string): CardOutcome {
  return declines[paymentMethod] ?? { ok: true };
}

/** The payment method used when a confirmation names none (the emulator's card always works). */
export const defaultPaymentMethod = "pm_card_visa";
