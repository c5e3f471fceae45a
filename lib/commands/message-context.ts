import type { Transaction } from "kysely";
import type { CommandMessage } from "../amqp/inbound-message.ts";
import type { Database } from "../db/schema/database.ts";
import type { Logger } from "../log.ts";
import type { StripeApi } from "../stripe/client.ts";

/** What the command path gets: the transaction that also holds the inbox row, and nothing of the broker. */
export interface CommandMessageContext {
  readonly trx: Transaction<Database>;
  readonly message: CommandMessage;
  readonly log: Logger;
  /** The Stripe API client: commands call Stripe inside their transaction. */
  readonly stripe: StripeApi;
}
