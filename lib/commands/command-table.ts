import type { CommandType } from "../domain/command-types.ts";
import { PermanentError } from "../domain/errors.ts";
import { balanceCharge } from "./balance-charge.ts";
import type { CommandHandler } from "./command-context.ts";
import { customerEnsure } from "./customer-ensure.ts";
import { depositCreate } from "./deposit-create.ts";
import { invoiceCreate } from "./invoice-create.ts";
import { paymentRefund } from "./payment-refund.ts";
import { subscriptionCancel } from "./subscription-cancel.ts";
import { subscriptionCreate } from "./subscription-create.ts";

// Every command type of the Contract has exactly one handler: the mapped type makes a missing one
// a compile error, and commandHandler refuses any name that is not a key of the table.
const commandHandlers: { readonly [T in CommandType]: CommandHandler<T> } = {
  "customer.ensure": customerEnsure,
  "deposit.create": depositCreate,
  "subscription.create": subscriptionCreate,
  "subscription.cancel": subscriptionCancel,
  "invoice.create": invoiceCreate,
  "balance.charge": balanceCharge,
  "payment.refund": paymentRefund,
};

/** The handler of a command type; PermanentError("invalid_command") for a name with none. */
export function commandHandler<T extends CommandType>(type: T): CommandHandler<T> {
  // own keys only: "toString" must not find Object.prototype
  if (!Object.hasOwn(commandHandlers, type)) {
    throw new PermanentError("invalid_command", `no handler for command type ${JSON.stringify(type)}`);
  }
  return commandHandlers[type];
}
