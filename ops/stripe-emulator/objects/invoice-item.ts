import type Stripe from "stripe";

/** A pending (or attached) invoice item as Stripe shapes it. */
export type InvoiceItem = Omit<
  Pick<
    Stripe.InvoiceItem,
    | "id"
    | "object"
    | "amount"
    | "currency"
    | "customer"
    | "date"
    | "description"
    | "discountable"
    | "discounts"
    | "invoice"
    | "livemode"
    | "metadata"
    | "parent"
    | "period"
    | "pricing"
    | "proration"
    | "quantity"
    | "tax_rates"
    | "test_clock"
  >,
  "customer" | "invoice" | "metadata"
> & { customer: string; invoice: string | null; metadata: Record<string, string> };

/** A one-off invoice item for a customer. */
export function buildInvoiceItem(input: {
  id: string;
  created: number;
  customer: string;
  amount: number;
  currency: string;
  description: string | null;
  invoice: string | null;
  metadata: Record<string, string>;
}): InvoiceItem {
  return {
    id: input.id,
    object: "invoiceitem",
    amount: input.amount,
    currency: input.currency,
    customer: input.customer,
    date: input.created,
    description: input.description,
    discountable: true,
    discounts: [],
    invoice: input.invoice,
    livemode: false,
    metadata: input.metadata,
    parent: null,
    period: { start: input.created, end: input.created },
    pricing: null,
    proration: false,
    quantity: 1,
    tax_rates: [],
    test_clock: null,
  };
}
