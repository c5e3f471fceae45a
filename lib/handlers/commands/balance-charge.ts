import { sql } from "kysely";
import { domainEvent } from "../../domain/domain-events.ts";
import { ledgerEntryAmount, ledgerSourceId } from "../../domain/ledger.ts";
import { formatMoney } from "../../domain/money.ts";
import { balanceUpdates } from "../../metrics/registry.ts";
import { emit } from "../emit.ts";
import { type CommandHandler, failed, succeeded } from "./command-context.ts";

// One conditional UPDATE both checks and debits: concurrent charges on one account queue on its row
// lock and each re-checks the balance it finds, so the balance can never go below zero and a
// refused charge changes nothing. The ledger entry (source = command id) commits with it.

/** balance.charge: debits the internal balance, or fails (insufficient_funds, unknown_account) with no debit. */
export const balanceCharge: CommandHandler<"balance.charge"> = async (context) => {
  const { trx, command, log } = context;
  const { accountId, currency, amount, reason } = command;
  const debited = await trx
    .updateTable("accounts")
    .set({ balance: sql<number>`balance - ${amount}`, updated_at: sql<Date>`now()` })
    .where("account_id", "=", accountId)
    .where("currency", "=", currency)
    .where("balance", ">=", amount)
    .returning("balance")
    .executeTakeFirst();

  if (debited === undefined) {
    const account = await trx
      .selectFrom("accounts")
      .select("balance")
      .where("account_id", "=", accountId)
      .where("currency", "=", currency)
      .executeTakeFirst();
    if (account === undefined) {
      return failed("unknown_account", `account ${accountId} has no ${currency} balance`);
    }
    log.debug({ accountId, balance: account.balance, amount }, "charge refused: insufficient funds");
    return failed(
      "insufficient_funds",
      `charging ${formatMoney(amount, currency)} would take the ${formatMoney(account.balance, currency)} ` +
        `balance of account ${accountId} below zero`,
    );
  }

  const sourceId = ledgerSourceId("charge_debit", command.id);
  await trx
    .insertInto("ledger_entries")
    .values({
      account_id: accountId,
      currency,
      amount: ledgerEntryAmount("charge_debit", amount),
      kind: "charge_debit",
      source_id: sourceId,
    })
    .execute();
  balanceUpdates.inc({ direction: "debit", kind: "charge_debit" });
  await emit(
    trx,
    domainEvent({
      type: "balance.debited",
      sourceId,
      correlationId: command.id,
      occurredAt: new Date(),
      data: { accountId, currency, amount, balance: debited.balance, reason, commandId: command.id },
    }),
  );
  return succeeded({ accountId, currency, amount, balance: debited.balance, reason });
};
