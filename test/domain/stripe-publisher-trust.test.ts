import { describe, expect, it } from "vitest";
import {
  firstPublisher,
  type PublisherClaim,
  stripePublisherVerdict,
  untrustedPublisherError,
} from "../../lib/domain/stripe-publisher-trust.ts";

// The worker applies a Stripe event only when RabbitMQ vouches (user_id) that a trusted publisher
// sent it, and a copy republished by the fleet (retry, replay) can narrow that trust, never widen it.

const trusted = new Set(["billing-web", "billing-reconciler", "billing-worker", "billing-ops"]);
const claim = (overrides: Partial<PublisherClaim>): PublisherClaim => ({
  userId: "billing-web",
  originalUserId: undefined,
  ...overrides,
});

describe("stripePublisherVerdict", () => {
  it.each<[string, Partial<PublisherClaim>, boolean]>([
    ["the ingester's webhook", {}, true],
    ["the reconciler's event", { userId: "billing-reconciler" }, true],
    [
      "a retry copy of the ingester's event",
      { userId: "billing-worker", originalUserId: "billing-web" },
      true,
    ],
    ["a replay of the ingester's event", { userId: "billing-ops", originalUserId: "billing-web" }, true],
    ["a copy whose header names its own publisher", { originalUserId: "billing-web" }, true],
    ["a replay of a letter archived before user ids were kept", { userId: "billing-ops" }, true],
    ["no user_id", { userId: undefined }, false],
    ["an empty user_id", { userId: "" }, false],
    ["a command client's user", { userId: "shop" }, false],
    [
      "a retry copy of a message first published without a user_id",
      { userId: "billing-worker", originalUserId: "" },
      false,
    ],
    ["a replay of an untrusted user's message", { userId: "billing-ops", originalUserId: "shop" }, false],
    [
      "an untrusted user claiming a trusted first publisher",
      { userId: "shop", originalUserId: "billing-web" },
      false,
    ],
  ])("%s: trusted %s", (_, overrides, expected) => {
    expect(stripePublisherVerdict(claim(overrides), trusted).trusted).toBe(expected);
  });

  it("says who published it and who would be trusted", () => {
    const verdict = stripePublisherVerdict(claim({ userId: "shop" }), new Set(["billing-web", "a-ops"]));
    expect(verdict).toEqual({
      trusted: false,
      reason:
        'untrusted Stripe event: it was published by broker user "shop", not one of the trusted publishers ' +
        "(STRIPE_EVENT_PUBLISHERS: a-ops, billing-web)",
    });
    expect(stripePublisherVerdict(claim({ userId: undefined }), trusted)).toMatchObject({
      reason: expect.stringContaining("has no user_id, so RabbitMQ cannot vouch for its publisher"),
    });
    expect(
      stripePublisherVerdict(claim({ userId: "billing-ops", originalUserId: "" }), trusted),
    ).toMatchObject({
      reason: expect.stringContaining("was first published without a user_id"),
    });
    expect(
      stripePublisherVerdict(claim({ userId: "billing-ops", originalUserId: "shop" }), trusted),
    ).toMatchObject({
      reason: expect.stringContaining('was first published by broker user "shop"'),
    });
  });
});

describe("untrustedPublisherError", () => {
  it("is a permanent untrusted_publisher error, or nothing when trusted", () => {
    const error = untrustedPublisherError(claim({ userId: "shop" }), trusted);
    expect([error?.kind, error?.code]).toEqual(["permanent", "untrusted_publisher"]);
    expect(untrustedPublisherError(claim({}), trusted)).toBeUndefined();
  });
});

describe("firstPublisher", () => {
  it("keeps the header when there is one, else takes the user_id, else records none", () => {
    expect(firstPublisher("billing-worker", "billing-web")).toBe("billing-web");
    expect(firstPublisher("billing-worker", "")).toBe("");
    expect(firstPublisher("billing-web", undefined)).toBe("billing-web");
    expect(firstPublisher(undefined, undefined)).toBe("");
    expect(firstPublisher(undefined, 42)).toBe("");
  });
});
