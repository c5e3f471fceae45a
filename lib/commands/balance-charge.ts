import { domainEvent } from "../domain/domain-events.ts";
import { PermanentError } from "../domain/errors.ts";
import { ledgerSourceId } from "../domain/ledger.ts";
import { formatMoney } from "../domain/money.ts";
import { countPostings, loadLedgerBook, writePostings } from "../tables/ledger.ts";
import { emit } from "../tables/outbox.ts";
import { type CommandHandler, failed, succeeded } from "./command-context.ts";

// The same ledger book and writer as Stripe event batches: the account is locked, the debit is
// planned against its balance, and concurrent charges on one account queue on the lock, each
// seeing the balance the previous one left, so the balance never goes below zero and a refused
// charge changes nothing. The entry's source is the command id.

/** balance.charge: debits the internal balance, or fails (insufficient_funds, unknown_account) with no debit. */
export const balanceCharge: CommandHandler<"balance.charge"> = async (context) => {
  const { trx, command, log } = context;
  const { accountId, currency, amount, reason } = command;
  const sourceId = ledgerSourceId("charge_debit", command.id);
  const book = await loadLedgerBook(trx, {
    accounts: [{ accountId, currency }],
    keys: [{ kind: "charge_debit", sourceId }],
    create: false,
  });
  const posting = book.post({ accountId, currency, kind: "charge_debit", sourceId, amount });
  if (posting.outcome === "insufficient_funds") {
    if (!posting.accountExists) {
      return failed("unknown_account", `account ${accountId} has no ${currency} balance`);
    }
    log.debug({ accountId, balance: posting.balance, amount }, "charge refused: insufficient funds");
    return failed(
      "insufficient_funds",
      `charging ${formatMoney(amount, currency)} would take the ${formatMoney(posting.balance, currency)} ` +
        `balance of account ${accountId} below zero`,
    );
  }
  if (posting.outcome === "duplicate") {
    // The commands table runs a command id once, so its debit cannot exist yet: stop the line.
    throw new PermanentError("idempotency_conflict", `charge ${command.id} is already in the ledger`);
  }
  await writePostings(trx, book.postings(), book.movedBalances());
  countPostings(book.postings());
  await emit(
    trx,
    domainEvent({
      type: "balance.debited",
      sourceId,
      correlationId: command.id,
      occurredAt: new Date(),
      data: { accountId, currency, amount, balance: posting.balance, reason, commandId: command.id },
    }),
  );
  return succeeded({ accountId, currency, amount, balance: posting.balance, reason });
};
