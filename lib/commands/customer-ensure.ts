import { ensureAccountCustomer } from "./account-customer.ts";
import { type CommandHandler, succeeded } from "./command-context.ts";

/** customer.ensure: the account's Stripe customer, created once (an existing one is reused as it is). */
export const customerEnsure: CommandHandler<"customer.ensure"> = async (context) => {
  const { accountId, email } = context.command;
  const customer = await ensureAccountCustomer(context, accountId, email);
  return succeeded({ accountId, customerId: customer.customerId, created: customer.created });
};
