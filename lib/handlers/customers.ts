import { customerFacts } from "../domain/stripe-event.ts";
import type { StripeEventContext } from "./stripe-event-context.ts";

// customer.created maps a Stripe customer to the account its metadata names; a customer made
// outside billing (no account_id) is only audited. The first mapping stays: a customer never moves.

/** Applies customer.created. */
export async function applyCustomerCreated(context: StripeEventContext): Promise<void> {
  const { trx, event, log } = context;
  const facts = customerFacts(event);
  if (facts.accountId === undefined) {
    log.debug({ customerId: facts.customerId }, "customer names no account: no effect");
    return;
  }
  await trx
    .insertInto("customers")
    .values({ customer_id: facts.customerId, account_id: facts.accountId, email: facts.email })
    .onConflict((oc) => oc.column("customer_id").doNothing())
    .execute();
}
