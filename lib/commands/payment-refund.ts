import { type CommandHandler, succeeded } from "./command-context.ts";
import { stripeStep } from "./stripe-step.ts";

/** payment.refund: a Stripe refund of the PaymentIntent (all that is left, or `amount`); the balance is debited by charge.refunded. */
export const paymentRefund: CommandHandler<"payment.refund"> = async (context) => {
  const { command } = context;
  const refund = await stripeStep(context, "refund", (client, options) =>
    client.refunds.create(
      {
        payment_intent: command.paymentIntentId,
        ...(command.amount === undefined ? {} : { amount: command.amount }),
        metadata: { command_id: command.id },
      },
      options,
    ),
  );
  return succeeded({
    paymentIntentId: command.paymentIntentId,
    refundId: refund.id,
    amount: refund.amount,
    currency: refund.currency,
    status: refund.status,
  });
};
