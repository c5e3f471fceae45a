import type Stripe from "stripe";
import type { InvoiceItem } from "./invoice-item.ts";
import type { ListObject } from "./list.ts";
import type { Subscription } from "./subscription.ts";

/** An invoice line: from an invoice item or from a subscription's period. */
export type InvoiceLineItem = Omit<
  Pick<
    Stripe.InvoiceLineItem,
    | "id"
    | "object"
    | "amount"
    | "currency"
    | "description"
    | "discount_amounts"
    | "discountable"
    | "discounts"
    | "invoice"
    | "livemode"
    | "metadata"
    | "parent"
    | "period"
    | "pretax_credit_amounts"
    | "quantity"
    | "subscription"
    | "subtotal"
    | "taxes"
  >,
  "subscription"
> & { subscription: string | null };

/**
 * An invoice as Stripe shapes it. `subscription` is the pre-2025 field, kept beside
 * `parent.subscription_details.subscription` (where current API versions put it) for older readers.
 */
export type Invoice = Omit<
  Pick<
    Stripe.Invoice,
    | "id"
    | "object"
    | "account_country"
    | "account_name"
    | "amount_due"
    | "amount_overpaid"
    | "amount_paid"
    | "amount_remaining"
    | "amount_shipping"
    | "attempt_count"
    | "attempted"
    | "auto_advance"
    | "automatically_finalizes_at"
    | "billing_reason"
    | "collection_method"
    | "created"
    | "currency"
    | "customer"
    | "customer_email"
    | "customer_name"
    | "default_payment_method"
    | "description"
    | "discounts"
    | "due_date"
    | "effective_at"
    | "ending_balance"
    | "hosted_invoice_url"
    | "invoice_pdf"
    | "livemode"
    | "metadata"
    | "next_payment_attempt"
    | "number"
    | "parent"
    | "period_end"
    | "period_start"
    | "starting_balance"
    | "status"
    | "status_transitions"
    | "subtotal"
    | "total"
    | "webhooks_delivered_at"
  >,
  "customer" | "default_payment_method" | "metadata" | "lines"
> & {
  customer: string;
  default_payment_method: string | null;
  metadata: Record<string, string>;
  lines: ListObject<InvoiceLineItem>;
  subscription: string | null;
};

/** A new draft invoice; lines are added with `addLine`. */
export function buildInvoice(input: {
  id: string;
  created: number;
  customer: { id: string; email: string | null; name: string | null };
  currency: string;
  collectionMethod: "charge_automatically" | "send_invoice";
  autoAdvance: boolean;
  daysUntilDue: number | null;
  billingReason: Stripe.Invoice.BillingReason;
  description: string | null;
  subscription: Subscription | null;
  periodStart: number;
  periodEnd: number;
  metadata: Record<string, string>;
}): Invoice {
  const subscription = input.subscription;
  return {
    id: input.id,
    object: "invoice",
    account_country: "US",
    account_name: "billing-fleet emulator",
    amount_due: 0,
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: 0,
    amount_shipping: 0,
    attempt_count: 0,
    attempted: false,
    auto_advance: input.autoAdvance,
    automatically_finalizes_at: null,
    billing_reason: input.billingReason,
    collection_method: input.collectionMethod,
    created: input.created,
    currency: input.currency,
    customer: input.customer.id,
    customer_email: input.customer.email,
    customer_name: input.customer.name,
    default_payment_method: null,
    description: input.description,
    discounts: [],
    due_date: input.daysUntilDue === null ? null : input.created + input.daysUntilDue * 86_400,
    effective_at: null,
    ending_balance: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    lines: {
      object: "list",
      data: [],
      has_more: false,
      total_count: 0,
      url: `/v1/invoices/${input.id}/lines`,
    },
    livemode: false,
    metadata: input.metadata,
    next_payment_attempt: null,
    number: null,
    parent:
      subscription === null
        ? null
        : {
            quote_details: null,
            subscription_details: { metadata: subscription.metadata, subscription: subscription.id },
            type: "subscription_details",
          },
    period_end: input.periodEnd,
    period_start: input.periodStart,
    starting_balance: 0,
    status: "draft",
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subtotal: 0,
    total: 0,
    webhooks_delivered_at: null,
    subscription: subscription?.id ?? null,
  };
}

/** Adds a line and keeps the totals equal to the sum of the lines. */
export function addLine(invoice: Invoice, line: InvoiceLineItem): void {
  invoice.lines.data.push(line);
  invoice.lines.total_count = invoice.lines.data.length;
  const sum = invoice.lines.data.reduce((total, item) => total + item.amount, 0);
  invoice.subtotal = sum;
  invoice.total = sum;
  invoice.amount_due = sum;
  invoice.amount_remaining = sum - invoice.amount_paid;
}

/** The line an invoice item becomes on its invoice. */
export function lineFromInvoiceItem(lineId: string, invoiceId: string, item: InvoiceItem): InvoiceLineItem {
  return {
    id: lineId,
    object: "line_item",
    amount: item.amount,
    currency: item.currency,
    description: item.description,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: invoiceId,
    livemode: false,
    metadata: item.metadata,
    parent: {
      type: "invoice_item_details",
      invoice_item_details: {
        invoice_item: item.id,
        proration: false,
        proration_details: null,
        subscription: null,
      },
      subscription_item_details: null,
    },
    period: item.period,
    pretax_credit_amounts: [],
    quantity: item.quantity,
    subscription: null,
    subtotal: item.amount,
    taxes: [],
  };
}

/** The line a subscription bills for one period of its (single) item. */
export function lineFromSubscription(
  lineId: string,
  invoiceId: string,
  subscription: Subscription,
): InvoiceLineItem {
  const item = subscription.items.data[0];
  if (item === undefined) throw new Error(`subscription ${subscription.id} has no item`);
  const quantity = item.quantity ?? 1;
  const amount = (item.price.unit_amount ?? 0) * quantity;
  return {
    id: lineId,
    object: "line_item",
    amount,
    currency: item.price.currency,
    description: `${quantity} × ${item.price.product} (at ${item.price.unit_amount} / month)`,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: invoiceId,
    livemode: false,
    metadata: subscription.metadata,
    parent: {
      type: "subscription_item_details",
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: null,
        proration: false,
        proration_details: null,
        subscription: subscription.id,
        subscription_item: item.id,
      },
    },
    period: { start: item.current_period_start, end: item.current_period_end },
    pretax_credit_amounts: [],
    quantity,
    subscription: subscription.id,
    subtotal: amount,
    taxes: [],
  };
}
