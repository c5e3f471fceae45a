import { PermanentError } from "./errors.ts";

// Who may put a Stripe event on exchange `billing`. Nothing in the body is signed once the
// ingester verified it, so the worker trusts the publisher instead: RabbitMQ refuses a user_id
// that is not the publishing connection's user, which makes user_id the broker's word for who
// published. A copy the fleet republishes (a retry, a replay) is published by another user and
// keeps the first publisher in the x-original-user-id header: trust needs both to be trusted.
// The header only narrows trust (a forged one on an untrusted user_id changes nothing), and "" in
// it means "first published without a user_id", which no replay can launder.

/** The header the fleet's own copies carry: the user_id the message was first published with. */
export const originalUserIdHeader = "x-original-user-id";

/** What a Stripe event message claims about its publishers. */
export interface PublisherClaim {
  /** The user_id property, validated by the broker against the publishing connection. */
  readonly userId: string | undefined;
  /** The x-original-user-id header when present ("" = first published without a user_id). */
  readonly originalUserId: string | undefined;
}

export type TrustVerdict = { readonly trusted: true } | { readonly trusted: false; readonly reason: string };

/** Whether a Stripe event message may be applied (a command is any service's to send: not this rule's). */
export function stripePublisherVerdict(
  claim: PublisherClaim,
  trustedUsers: ReadonlySet<string>,
): TrustVerdict {
  const known = [...trustedUsers].sort().join(", ");
  if (claim.userId === undefined || claim.userId === "") {
    return untrusted("has no user_id, so RabbitMQ cannot vouch for its publisher", known);
  }
  if (!trustedUsers.has(claim.userId)) {
    return untrusted(`was published by broker user "${claim.userId}"`, known);
  }
  const first = claim.originalUserId;
  if (first === undefined || first === claim.userId) return { trusted: true };
  if (first === "") return untrusted("was first published without a user_id", known);
  if (!trustedUsers.has(first)) return untrusted(`was first published by broker user "${first}"`, known);
  return { trusted: true };
}

/** The verdict as the error the consumer dead-letters at once; undefined when trusted. */
export function untrustedPublisherError(
  claim: PublisherClaim,
  trustedUsers: ReadonlySet<string>,
): PermanentError | undefined {
  const verdict = stripePublisherVerdict(claim, trustedUsers);
  return verdict.trusted ? undefined : new PermanentError("untrusted_publisher", verdict.reason);
}

/** The first publisher to record on a copy: the header already there, else the user_id, else "". */
export function firstPublisher(userId: unknown, originalUserIdValue: unknown): string {
  if (typeof originalUserIdValue === "string") return originalUserIdValue;
  return typeof userId === "string" ? userId : "";
}

function untrusted(what: string, known: string): TrustVerdict {
  return {
    trusted: false,
    reason: `untrusted Stripe event: it ${what}, not one of the trusted publishers (STRIPE_EVENT_PUBLISHERS: ${known})`,
  };
}
