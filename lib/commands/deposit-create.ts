import type Stripe from "stripe";
import { findAccountCustomer } from "./account-customer.ts";
import { type CommandContext, type CommandHandler, succeeded } from "./command-context.ts";
import { stripeStep } from "./stripe-step.ts";

// deposit.create makes a PaymentIntent that Stripe confirms at once (confirm=true); the balance is
// credited later, once, by the payment_intent.succeeded webhook, never here. The command carries no
// payment method, so a deposit is charged off-session to the default payment method of the
// account's Stripe customer (invoice_settings.default_payment_method) when it has one. Without
// one the PaymentIntent is confirmed with no payment method: the emulator then charges its test
// card, while real Stripe refuses it (400, "missing a payment method"), which fails the command
// with Stripe's message and moves no money.

/** deposit.create: a confirmed PaymentIntent with metadata account_id and purpose=deposit. */
export const depositCreate: CommandHandler<"deposit.create"> = async (context) => {
  const { command } = context;
  const customerId = await findAccountCustomer(context, command.accountId);
  const paymentMethod =
    customerId === undefined ? undefined : await defaultPaymentMethod(context, customerId);
  const paymentIntent = await stripeStep(context, "payment-intent", (client, options) =>
    client.paymentIntents.create(
      {
        amount: command.amount,
        currency: command.currency,
        description: "Balance deposit",
        metadata: { account_id: command.accountId, purpose: "deposit", command_id: command.id },
        confirm: true,
        // a server-side confirmation cannot follow a redirect
        automatic_payment_methods: { enabled: true, allow_redirects: "never" },
        ...(customerId === undefined ? {} : { customer: customerId }),
        ...(paymentMethod === undefined ? {} : { payment_method: paymentMethod, off_session: true }),
      },
      options,
    ),
  );
  return succeeded({
    accountId: command.accountId,
    paymentIntentId: paymentIntent.id,
    status: paymentIntent.status,
    amount: paymentIntent.amount,
    currency: paymentIntent.currency,
    customerId: customerId ?? null,
  });
};

async function defaultPaymentMethod(
  context: CommandContext<"deposit.create">,
  customerId: string,
): Promise<string | undefined> {
  const customer = await stripeStep(context, "customer-read", (client, options) =>
    client.customers.retrieve(customerId, {}, options),
  );
  if (customer.deleted === true) return undefined;
  // optional chaining: Stripe-compatible servers (the emulator) may leave invoice_settings out
  const method = (customer as Partial<Stripe.Customer>).invoice_settings?.default_payment_method;
  if (method === null || method === undefined) return undefined;
  return typeof method === "string" ? method : method.id;
}
