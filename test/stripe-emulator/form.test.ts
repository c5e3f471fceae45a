import { describe, expect, it } from "vitest";
import { decodeForm } from "../../ops/stripe-emulator/form.ts";
import { StripeApiError } from "../../ops/stripe-emulator/stripe-error.ts";

// The decoder must read exactly what the stripe package encodes, or params silently go missing.
describe("decodeForm", () => {
  it("reads nested objects, indexed arrays and appended arrays", () => {
    const params = decodeForm(
      "customer=cus_1&items[0][price]=price_a&items[0][quantity]=2&items[1][price]=price_b" +
        "&metadata[account_id]=acct%201&expand[]=latest_charge&expand[]=customer&a[b][c]=x",
    );
    expect(params).toEqual({
      customer: "cus_1",
      items: [{ price: "price_a", quantity: "2" }, { price: "price_b" }],
      metadata: { account_id: "acct 1" },
      expand: ["latest_charge", "customer"],
      a: { b: { c: "x" } },
    });
  });

  it("accepts percent-encoded brackets and '+' as space", () => {
    expect(decodeForm("metadata%5Bnote%5D=hello+world")).toEqual({ metadata: { note: "hello world" } });
  });

  it("keeps sparse indexes as an object, not an array with holes", () => {
    expect(decodeForm("items[1][price]=p")).toEqual({ items: { "1": { price: "p" } } });
  });

  it("keeps an empty value (the stripe package's null) as an empty string", () => {
    expect(decodeForm("description=&metadata[k]=")).toEqual({ description: "", metadata: { k: "" } });
  });

  // Property: a request cannot reach Object.prototype or be read two ways.
  it.each([["__proto__[polluted]=1"], ["a[constructor][x]=1"], ["a=1&a[b]=2"], ["a=1&a=2"], ["a[b=1"]])(
    "refuses %s with a 400",
    (encoded) => {
      const attempt = () => decodeForm(encoded);
      expect(attempt).toThrow(StripeApiError);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );
});
