import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { CommandToken } from "../../lib/config.ts";
import { authenticate } from "../../lib/http/bearer-auth.ts";

const sha = (token: string) => createHash("sha256").update(token).digest();
const orders: CommandToken = { service: "orders", sha256: sha("orders-token-0123456789"), scopes: "*" };
const shop: CommandToken = { service: "shop", sha256: sha("shop-token-0123456789"), scopes: new Set() };
const tokens = [orders, shop];

describe("authenticate", () => {
  // Only a well-formed Bearer header with a configured token authenticates, and it names its entry.
  it.each([
    [undefined, "no_token"],
    ["", "no_token"],
    ["Basic b3JkZXJzOng=", "no_token"],
    ["Bearer", "no_token"],
    ["Bearer ", "no_token"],
    ["Bearer two words", "no_token"],
    ["Bearer orders-token-012345678", "unknown_token"],
    ["Bearer orders-token-0123456789x", "unknown_token"],
    ["Bearer ORDERS-TOKEN-0123456789", "unknown_token"],
  ])("%j → %s", (header, reason) => {
    expect(authenticate(header, tokens)).toEqual({ ok: false, reason });
  });

  it.each([
    ["Bearer orders-token-0123456789", orders],
    ["bearer   shop-token-0123456789 ", shop],
    ["BEARER\tshop-token-0123456789", shop],
  ])("%j → its token", (header, token) => {
    expect(authenticate(header, tokens)).toEqual({ ok: true, token });
  });

  // With no tokens configured (HTTP commands off) nothing authenticates.
  it("refuses everything when no token is configured", () => {
    expect(authenticate("Bearer orders-token-0123456789", [])).toEqual({
      ok: false,
      reason: "unknown_token",
    });
  });
});
