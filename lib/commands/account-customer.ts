import { sql } from "kysely";
import type { CommandType } from "../domain/command-types.ts";
import type { CommandContext } from "./command-context.ts";
import { stripeStep } from "./stripe-step.ts";

/** The account's Stripe customer, and whether this command created it. */
export interface AccountCustomer {
  customerId: string;
  created: boolean;
}

/**
 * The account's Stripe customer: its customers row when there is one (the oldest, should Stripe
 * have sent customer.created for several), else a new Stripe customer (step "customer") and its row.
 * A transaction-scoped lock per account serializes commands of different ids that would otherwise
 * both find no row and create two customers.
 */
export async function ensureAccountCustomer<T extends CommandType>(
  context: CommandContext<T>,
  accountId: string,
  email?: string,
): Promise<AccountCustomer> {
  const { trx } = context;
  // seed 1: another key space than the command lock's (seed 0)
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${accountId}, 1))`.execute(trx);
  const existing = await findAccountCustomer(context, accountId);
  if (existing !== undefined) return { customerId: existing, created: false };

  const customer = await stripeStep(context, "customer", (client, options) =>
    client.customers.create(
      { ...(email === undefined ? {} : { email }), metadata: { account_id: accountId } },
      options,
    ),
  );
  await trx
    .insertInto("customers")
    .values({ customer_id: customer.id, account_id: accountId, email: customer.email ?? null })
    .onConflict((oc) => oc.column("customer_id").doNothing())
    .execute();
  return { customerId: customer.id, created: true };
}

/** The id of the account's oldest known Stripe customer, if billing has one. */
export async function findAccountCustomer<T extends CommandType>(
  context: CommandContext<T>,
  accountId: string,
): Promise<string | undefined> {
  const row = await context.trx
    .selectFrom("customers")
    .select("customer_id")
    .where("account_id", "=", accountId)
    .orderBy("created_at")
    .orderBy("customer_id")
    .limit(1)
    .executeTakeFirst();
  return row?.customer_id;
}
