// billing-fleet/client: what other services import to send billing commands over RabbitMQ and
// receive their outcomes. See README.md, "Sending commands from another service".

export type { CommandType } from "../domain/command-types.ts";
export { commandTypes } from "../domain/command-types.ts";
export type {
  BalanceCharge,
  Command,
  CommandOf,
  CustomerEnsure,
  DepositCreate,
  FieldError,
  InvoiceCreate,
  InvoiceCreateItem,
  PaymentRefund,
  SubscriptionCancel,
  SubscriptionCreate,
} from "../domain/commands.ts";
export { type BillingClient, type BillingClientOptions, connectBillingClient } from "./billing-client.ts";
export type { CommandResult, CommandResultError } from "./command-result.ts";
export { InvalidCommandError } from "./invalid-command-error.ts";
export type { OnResultOptions, ResultHandler, ResultSubscription } from "./result-subscription.ts";
