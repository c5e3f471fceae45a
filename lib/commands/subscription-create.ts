import { ensureAccountCustomer } from "./account-customer.ts";
import { type CommandHandler, succeeded } from "./command-context.ts";
import { stripeStep } from "./stripe-step.ts";

/** subscription.create: the account's customer (created first, step "customer", if missing), then the subscription. */
export const subscriptionCreate: CommandHandler<"subscription.create"> = async (context) => {
  const { command } = context;
  const customer = await ensureAccountCustomer(context, command.accountId);
  const subscription = await stripeStep(context, "subscription", (client, options) =>
    client.subscriptions.create(
      {
        customer: customer.customerId,
        items: [{ price: command.priceId }],
        ...(command.trialDays === undefined ? {} : { trial_period_days: command.trialDays }),
        metadata: { account_id: command.accountId, command_id: command.id },
      },
      options,
    ),
  );
  return succeeded({
    accountId: command.accountId,
    customerId: customer.customerId,
    subscriptionId: subscription.id,
    priceId: command.priceId,
    status: subscription.status,
    trialEnd: subscription.trial_end === null ? null : new Date(subscription.trial_end * 1000).toISOString(),
  });
};
