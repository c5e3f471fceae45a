import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json.ts";
import {
  amount,
  boolean,
  type Check,
  commandId,
  currency,
  email,
  type FieldError,
  fail,
  integer,
  isPlainObject,
  stripeId,
  text,
} from "./command-fields.ts";
import { type CommandType, commandTypes, isCommandType } from "./command-types.ts";

// The commands of the Contract, validated by hand (no schema library): every field rule, unknown
// fields refused, all problems reported at once with the field they concern.

export type { FieldError } from "./command-fields.ts";

export interface CustomerEnsure {
  id: string;
  type: "customer.ensure";
  accountId: string;
  email?: string;
}

export interface DepositCreate {
  id: string;
  type: "deposit.create";
  accountId: string;
  amount: number;
  currency: string;
}

export interface SubscriptionCreate {
  id: string;
  type: "subscription.create";
  accountId: string;
  priceId: string;
  trialDays?: number;
}

export interface SubscriptionCancel {
  id: string;
  type: "subscription.cancel";
  subscriptionId: string;
  atPeriodEnd: boolean;
}

export interface InvoiceCreateItem {
  amount: number;
  currency: string;
  description: string;
}

export interface InvoiceCreate {
  id: string;
  type: "invoice.create";
  accountId: string;
  items: InvoiceCreateItem[];
}

export interface BalanceCharge {
  id: string;
  type: "balance.charge";
  accountId: string;
  amount: number;
  currency: string;
  reason: string;
}

export interface PaymentRefund {
  id: string;
  type: "payment.refund";
  paymentIntentId: string;
  amount?: number;
}

export type Command =
  | CustomerEnsure
  | DepositCreate
  | SubscriptionCreate
  | SubscriptionCancel
  | InvoiceCreate
  | BalanceCharge
  | PaymentRefund;

/** The command of one type, e.g. `CommandOf<"deposit.create">`. */
export type CommandOf<T extends CommandType> = Extract<Command, { type: T }>;

export type CommandValidation = { ok: true; command: Command } | { ok: false; errors: FieldError[] };

interface Field<T> {
  readonly optional: undefined extends T ? true : false;
  readonly check: Check<Exclude<T, undefined>>;
}
type Schema<C> = { readonly [K in Exclude<keyof C, "id" | "type">]-?: Field<C[K]> };

const required = <T>(check: Check<T>) => ({ optional: false, check }) as Field<T>;
const optional = <T>(check: Check<T>) => ({ optional: true, check }) as unknown as Field<T | undefined>;

const accountId = text(1, 255);

const invoiceCreateItemSchema: Schema<InvoiceCreateItem> = {
  amount: required(amount),
  currency: required(currency),
  description: required(text(1, 500)),
};

// 1–100 items, each checked like a command's fields, all in one currency (one invoice, one currency).
const invoiceItems: Check<InvoiceCreateItem[]> = (value, field, errors) => {
  if (!Array.isArray(value)) return fail(errors, field, "must be an array of items");
  if (value.length < 1 || value.length > 100) return fail(errors, field, "must hold 1 to 100 items");
  const before = errors.length;
  const items = value.map((item, index) => {
    const path = `${field}[${index}]`;
    if (!isPlainObject(item)) return fail(errors, path, "must be an object");
    return readFields(item, invoiceCreateItemSchema, `${path}.`, errors);
  });
  const first = items[0]?.currency;
  items.forEach((item, index) => {
    if (first !== undefined && item !== undefined && item.currency !== first) {
      fail(errors, `${field}[${index}].currency`, `must be ${first}, the currency of ${field}[0]`);
    }
  });
  return errors.length === before ? (items as InvoiceCreateItem[]) : undefined;
};

const schemas: { readonly [T in CommandType]: Schema<CommandOf<T>> } = {
  "customer.ensure": { accountId: required(accountId), email: optional(email) },
  "deposit.create": {
    accountId: required(accountId),
    amount: required(amount),
    currency: required(currency),
  },
  "subscription.create": {
    accountId: required(accountId),
    priceId: required(stripeId("price_")),
    trialDays: optional(integer(1, 730)),
  },
  "subscription.cancel": { subscriptionId: required(stripeId("sub_")), atPeriodEnd: required(boolean) },
  "invoice.create": { accountId: required(accountId), items: required(invoiceItems) },
  "balance.charge": {
    accountId: required(accountId),
    amount: required(amount),
    currency: required(currency),
    reason: required(text(1, 500)),
  },
  "payment.refund": { paymentIntentId: required(stripeId("pi_")), amount: optional(amount) },
};

/** Validates a command body (parsed JSON): the typed command, or every field error. */
export function validateCommand(input: unknown): CommandValidation {
  if (!isPlainObject(input)) {
    return { ok: false, errors: [{ field: "body", message: "must be a JSON object" }] };
  }
  const errors: FieldError[] = [];
  const id = readField(input, "id", { optional: false, check: commandId }, "", errors);
  const type = own(input, "type");
  if (type === undefined || type === null) fail(errors, "type", "required");
  else if (typeof type !== "string" || !isCommandType(type)) {
    fail(errors, "type", `must be one of ${commandTypes.join(", ")}`);
  }
  if (typeof type !== "string" || !isCommandType(type)) return { ok: false, errors };
  const fields = readFields(input, schemas[type] as Schema<Record<string, unknown>>, "", errors, [
    "id",
    "type",
  ]);
  if (errors.length > 0 || id === undefined || fields === undefined) return { ok: false, errors };
  return { ok: true, command: { id, type, ...fields } as Command };
}

/** sha256 hex of the command's canonical JSON: equal fields in any key order give the same hash. */
export function commandRequestHash(command: Command): string {
  return createHash("sha256").update(canonicalJson(command)).digest("hex");
}

// Reads every field of the schema, then refuses any other key; undefined when anything failed.
function readFields<C>(
  input: Record<string, unknown>,
  schema: Schema<C>,
  prefix: string,
  errors: FieldError[],
  alsoAllowed: readonly string[] = [],
): C | undefined {
  const before = errors.length;
  const result: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema) as [string, Field<unknown>][]) {
    const value = readField(input, name, field, prefix, errors);
    if (value !== undefined) result[name] = value;
  }
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(schema, key) && !alsoAllowed.includes(key)) {
      fail(errors, `${prefix}${key}`, "unknown field");
    }
  }
  return errors.length === before ? (result as C) : undefined;
}

// A null optional field counts as absent, which keeps the request hash equal to omitting it.
function readField<T>(
  input: Record<string, unknown>,
  name: string,
  field: { optional: boolean; check: Check<T> },
  prefix: string,
  errors: FieldError[],
): T | undefined {
  const value = own(input, name);
  if (value === undefined || value === null) {
    return field.optional ? undefined : fail(errors, `${prefix}${name}`, "required");
  }
  return field.check(value, `${prefix}${name}`, errors);
}

// Own properties only: an inherited `amount` must never be read as a field.
function own(input: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(input, key) ? input[key] : undefined;
}
