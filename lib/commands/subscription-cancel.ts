import { type CommandHandler, succeeded } from "./command-context.ts";
import { isStripeNotFound } from "./stripe-refusal.ts";
import { stripeStep } from "./stripe-step.ts";

/** subscription.cancel: cancel_at_period_end when atPeriodEnd, else canceled now; already canceled is success. */
export const subscriptionCancel: CommandHandler<"subscription.cancel"> = async (context) => {
  const { subscriptionId, atPeriodEnd } = context.command;
  if (atPeriodEnd) {
    const subscription = await stripeStep(context, "cancel-at-period-end", (client, options) =>
      client.subscriptions.update(subscriptionId, { cancel_at_period_end: true }, options),
    );
    return succeeded({
      subscriptionId,
      status: subscription.status,
      cancelAtPeriodEnd: subscription.cancel_at_period_end,
      cancelAt:
        subscription.cancel_at === null ? null : new Date(subscription.cancel_at * 1000).toISOString(),
    });
  }
  try {
    const subscription = await stripeStep(context, "cancel", (client, options) =>
      client.subscriptions.cancel(subscriptionId, {}, options),
    );
    return succeeded({ subscriptionId, status: subscription.status, alreadyCanceled: false });
  } catch (error) {
    if (!isStripeNotFound(error)) throw error;
    // Stripe answers 404 to canceling a canceled subscription; one that never existed stays a 404
    // (the read below throws it, and the command fails with Stripe's message)
    const subscription = await stripeStep(context, "read", (client, options) =>
      client.subscriptions.retrieve(subscriptionId, {}, options),
    );
    if (subscription.status !== "canceled") throw error;
    return succeeded({ subscriptionId, status: subscription.status, alreadyCanceled: true });
  }
};
