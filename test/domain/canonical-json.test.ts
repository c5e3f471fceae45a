import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../lib/domain/canonical-json.ts";

// Request hashes are taken over this text: equal values must give equal text whatever their key order.
describe("canonicalJson", () => {
  it.each<[unknown, string]>([
    [null, "null"],
    [true, "true"],
    [0, "0"],
    [-12, "-12"],
    ['a"b\n', '"a\\"b\\n"'],
    [[], "[]"],
    [{}, "{}"],
    [{ b: 1, a: 2 }, '{"a":2,"b":1}'],
    [{ z: { y: [3, { d: 1, c: 2 }], x: null } }, '{"z":{"x":null,"y":[3,{"c":2,"d":1}]}}'],
    [{ a: undefined, b: 1 }, '{"b":1}'],
    [[undefined, 1], "[null,1]"],
    [{ B: 1, a: 2, _: 3 }, '{"B":1,"_":3,"a":2}'],
  ])("%j → %s", (value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });

  it("is independent of key insertion order at every depth", () => {
    const a = { id: "x", items: [{ amount: 1, currency: "usd" }], meta: { p: 1, q: 2 } };
    const b = { meta: { q: 2, p: 1 }, items: [{ currency: "usd", amount: 1 }], id: "x" };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(JSON.parse(canonicalJson(a))).toEqual(a);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, 1n, () => 1, Symbol("s")])("refuses %s", (value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
    expect(() => canonicalJson({ nested: [value] })).toThrow(TypeError);
  });
});
