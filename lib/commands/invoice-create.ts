import { ensureAccountCustomer } from "./account-customer.ts";
import { type CommandHandler, succeeded } from "./command-context.ts";
import { stripeStep } from "./stripe-step.ts";

// The draft invoice is made first and each item is added to it by id: items left pending on the
// customer would be swept into whichever invoice the customer gets next, possibly another command's.

/** invoice.create: customer (step "customer" if missing), draft ("invoice"), items ("item-<n>"), "finalize". */
export const invoiceCreate: CommandHandler<"invoice.create"> = async (context) => {
  const { command } = context;
  const currency = command.items[0]?.currency;
  if (currency === undefined) throw new RangeError("invoice.create: validated commands have items");
  const customer = await ensureAccountCustomer(context, command.accountId);
  const draft = await stripeStep(context, "invoice", (client, options) =>
    client.invoices.create(
      {
        customer: customer.customerId,
        currency,
        collection_method: "charge_automatically",
        pending_invoice_items_behavior: "exclude",
        auto_advance: false,
        metadata: { account_id: command.accountId, command_id: command.id },
      },
      options,
    ),
  );
  const invoiceId = draft.id;
  if (invoiceId === undefined) throw new RangeError("invoice.create: Stripe returned an invoice without id");
  for (const [index, item] of command.items.entries()) {
    await stripeStep(context, `item-${index}`, (client, options) =>
      client.invoiceItems.create(
        {
          customer: customer.customerId,
          invoice: invoiceId,
          amount: item.amount,
          currency: item.currency,
          description: item.description,
        },
        options,
      ),
    );
  }
  // auto_advance from here on: Stripe collects the finalized invoice by itself
  const invoice = await stripeStep(context, "finalize", (client, options) =>
    client.invoices.finalizeInvoice(invoiceId, { auto_advance: true }, options),
  );
  return succeeded({
    accountId: command.accountId,
    customerId: customer.customerId,
    invoiceId,
    status: invoice.status,
    number: invoice.number,
    amountDue: invoice.amount_due,
    currency: invoice.currency,
  });
};
