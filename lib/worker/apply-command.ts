import { type CommandMessage, inboxKey } from "../amqp/inbound-message.ts";
import { handleCommand } from "../commands/handle-command.ts";
import type { Db } from "../db/database.ts";
import type { Logger } from "../log.ts";
import type { StripeApi } from "../stripe/client.ts";
import { claimInbox } from "../tables/inbox.ts";
import { withQuickRetries } from "./quick-retry.ts";

// A command gets a transaction of its own (it may call Stripe inside it): the inbox row, the
// command's effect, its billing.commands row and its result event commit together, then the
// consumer acks. A duplicate (the same id and bytes) runs nothing.

export interface ApplyCommandDeps {
  readonly db: Db;
  readonly log: Logger;
  readonly stripe: StripeApi;
}

/** Applies one command exactly once; resolves once it is committed, or throws with nothing committed. */
export async function applyCommand(
  deps: ApplyCommandDeps,
  message: CommandMessage,
): Promise<"applied" | "duplicate"> {
  const log = deps.log.child({ messageId: message.messageId, type: message.type, attempt: message.attempt });
  const key = inboxKey(message);
  return withQuickRetries(log, () =>
    deps.db.transaction().execute(async (trx) => {
      if ((await claimInbox(trx, [key])).size === 0) return "duplicate" as const;
      await handleCommand({ trx, message, log, stripe: deps.stripe });
      return "applied" as const;
    }),
  );
}
