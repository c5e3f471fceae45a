import { describe, expect, expectTypeOf, it } from "vitest";
import { commandTypes } from "../../lib/domain/command-types.ts";
import {
  type Command,
  type CommandOf,
  commandRequestHash,
  type DepositCreate,
  type FieldError,
  validateCommand,
} from "../../lib/domain/commands.ts";

// Commands come from other services: every field rule is checked here, once, for both the HTTP
// intake and the worker, and every problem is reported with the field it concerns.

const valid: Record<(typeof commandTypes)[number], Record<string, unknown>> = {
  "customer.ensure": { id: "cmd-1", type: "customer.ensure", accountId: "acct-42", email: "ada@example.com" },
  "deposit.create": {
    id: "cmd-2",
    type: "deposit.create",
    accountId: "acct-42",
    amount: 2500,
    currency: "usd",
  },
  "subscription.create": {
    id: "cmd-3",
    type: "subscription.create",
    accountId: "acct-42",
    priceId: "price_pro_2500",
    trialDays: 14,
  },
  "subscription.cancel": {
    id: "cmd-4",
    type: "subscription.cancel",
    subscriptionId: "sub_1QxZa3LkdIwHu7ix",
    atPeriodEnd: true,
  },
  "invoice.create": {
    id: "cmd-5",
    type: "invoice.create",
    accountId: "acct-42",
    items: [
      { amount: 1000, currency: "eur", description: "Setup" },
      { amount: 250, currency: "eur", description: "Support, March" },
    ],
  },
  "balance.charge": {
    id: "cmd-6",
    type: "balance.charge",
    accountId: "acct-42",
    amount: 100,
    currency: "usd",
    reason: "API usage, March",
  },
  "payment.refund": {
    id: "cmd-7",
    type: "payment.refund",
    paymentIntentId: "pi_3QxYz2LkdIwHu7ix",
    amount: 500,
  },
};

const errorsOf = (input: unknown): FieldError[] => {
  const result = validateCommand(input);
  return result.ok ? [] : result.errors;
};
const withField = (type: keyof typeof valid, field: string, value: unknown) => {
  const copy: Record<string, unknown> = structuredClone(valid[type]);
  if (value === undefined) delete copy[field];
  else copy[field] = value;
  return copy;
};

describe("validateCommand: valid commands", () => {
  it.each(commandTypes)("accepts a full %s", (type) => {
    expect(validateCommand(valid[type])).toEqual({ ok: true, command: valid[type] });
  });

  it.each<[string, Record<string, unknown>]>([
    ["customer.ensure without email", { id: "c", type: "customer.ensure", accountId: "a" }],
    [
      "subscription.create without trial",
      { id: "c", type: "subscription.create", accountId: "a", priceId: "price_1" },
    ],
    [
      "subscription.cancel now",
      { id: "c", type: "subscription.cancel", subscriptionId: "sub_1", atPeriodEnd: false },
    ],
    ["payment.refund in full", { id: "c", type: "payment.refund", paymentIntentId: "pi_1" }],
  ])("accepts %s", (_, input) => {
    expect(validateCommand(input)).toEqual({ ok: true, command: input });
  });

  // null for an optional field means "not given", so it hashes like an omitted field
  it("treats null optional fields as absent", () => {
    const result = validateCommand({ ...valid["customer.ensure"], email: null });
    expect(result).toEqual({
      ok: true,
      command: { id: "cmd-1", type: "customer.ensure", accountId: "acct-42" },
    });
  });

  it("narrows to the typed command", () => {
    const result = validateCommand(valid["deposit.create"]);
    if (!result.ok || result.command.type !== "deposit.create") throw new Error("expected a deposit");
    expectTypeOf(result.command).toEqualTypeOf<DepositCreate>();
    expectTypeOf<CommandOf<"payment.refund">["amount"]>().toEqualTypeOf<number | undefined>();
    expectTypeOf<Command["type"]>().toEqualTypeOf<(typeof commandTypes)[number]>();
  });
});

describe("validateCommand: the body and its type", () => {
  it.each([null, [], "cmd", 42, true, undefined])("refuses a body of %j", (body) => {
    expect(errorsOf(body)).toEqual([{ field: "body", message: "must be a JSON object" }]);
  });

  it.each([
    [undefined, "required"],
    [null, "required"],
    ["deposit.make", `must be one of ${commandTypes.join(", ")}`],
    ["", `must be one of ${commandTypes.join(", ")}`],
    [7, `must be one of ${commandTypes.join(", ")}`],
    ["toString", `must be one of ${commandTypes.join(", ")}`],
  ])("refuses type %j", (type, message) => {
    expect(errorsOf(withField("deposit.create", "type", type))).toEqual([{ field: "type", message }]);
  });

  it("reports a bad id beside an unknown type", () => {
    expect(errorsOf({ id: "", type: "nope" })).toEqual([
      { field: "id", message: "must not be empty" },
      { field: "type", message: `must be one of ${commandTypes.join(", ")}` },
    ]);
  });

  it("reports every problem at once, in field order, unknown fields last", () => {
    expect(
      errorsOf({
        type: "balance.charge",
        accountId: "",
        amount: 1.5,
        currency: "USD",
        extra: 1,
        reason: "r",
      }),
    ).toEqual([
      { field: "id", message: "required" },
      { field: "accountId", message: "must not be empty" },
      { field: "amount", message: "must be a positive integer in minor units (e.g. 1050 for 10.50)" },
      { field: "currency", message: "must be a lower-case ISO 4217 code such as usd" },
      { field: "extra", message: "unknown field" },
    ]);
  });

  it.each(commandTypes)("refuses unknown fields on %s, including inherited names", (type) => {
    const body = JSON.parse(
      JSON.stringify({ ...valid[type], note: "x" }).replace("{", '{"__proto__":{"a":1},'),
    );
    expect(errorsOf({ ...body, constructor: "x" })).toEqual([
      { field: "__proto__", message: "unknown field" },
      { field: "note", message: "unknown field" },
      { field: "constructor", message: "unknown field" },
    ]);
  });

  // only own properties are fields: a prototype must never supply an amount
  it("does not read inherited fields", () => {
    const body = Object.assign(Object.create({ amount: 2500 }), {
      ...withField("deposit.create", "amount", undefined),
    });
    expect(errorsOf(body)).toEqual([{ field: "amount", message: "required" }]);
  });
});

const text = (max: number) => [
  ["", "must not be empty"],
  ["x".repeat(max + 1), `must be at most ${max} characters`],
  [42, "must be a string"],
  [["a"], "must be a string"],
  ["a\u0000b", "must not contain control or unprintable characters"],
  ["a\nb", "must not contain control or unprintable characters"],
  ["a\u200bb", "must not contain control or unprintable characters"],
  ["a\ud800b", "must not contain control or unprintable characters"],
];
const money = [0, -1, 10.5, "100", Number.NaN, Number.MAX_SAFE_INTEGER + 1, true].map((v) => [
  v,
  "must be a positive integer in minor units (e.g. 1050 for 10.50)",
]);
const currencies = ["USD", "us", "usdx", "", 840, "u$d"].map((v) => [
  v,
  "must be a lower-case ISO 4217 code such as usd",
]);
const stripeIds = (prefix: string, foreign: string) => [
  [`${foreign}123`, `must be a Stripe id starting with ${prefix}`],
  [prefix, `must be a Stripe id starting with ${prefix}`],
  [`${prefix}a-b`, `must be a Stripe id starting with ${prefix}`],
  [`${prefix}${"a".repeat(256 - prefix.length)}`, `must be a Stripe id starting with ${prefix}`],
  [` ${prefix}1`, `must be a Stripe id starting with ${prefix}`],
  [5, "must be a string"],
];

// Every field of every command: each bad value gives exactly one error on that field.
describe.each<[keyof typeof valid, string, unknown[][]]>([
  ["customer.ensure", "accountId", text(255)],
  [
    "customer.ensure",
    "email",
    [
      ["ada", "must be an e-mail address"],
      ["ada@", "must be an e-mail address"],
      ["@example.com", "must be an e-mail address"],
      ["ada@example", "must be an e-mail address"],
      ["ada@@example.com", "must be an e-mail address"],
      ["a da@example.com", "must be an e-mail address"],
      ["ada@example..com", "must be an e-mail address"],
      [`${"a".repeat(250)}@x.io`, "must be an e-mail address"],
      ["ada\u0007@example.com", "must be an e-mail address"],
      [5, "must be a string"],
    ],
  ],
  ["deposit.create", "accountId", text(255)],
  ["deposit.create", "amount", money],
  ["deposit.create", "currency", currencies],
  ["subscription.create", "accountId", text(255)],
  ["subscription.create", "priceId", stripeIds("price_", "prod_")],
  [
    "subscription.create",
    "trialDays",
    [0, 731, 1.5, "7", -1, false].map((v) => [v, "must be an integer from 1 to 730"]),
  ],
  ["subscription.cancel", "subscriptionId", stripeIds("sub_", "si_")],
  ["subscription.cancel", "atPeriodEnd", ["true", 1, 0, "yes"].map((v) => [v, "must be true or false"])],
  ["balance.charge", "accountId", text(255)],
  ["balance.charge", "amount", money],
  ["balance.charge", "currency", currencies],
  ["balance.charge", "reason", text(500)],
  ["payment.refund", "paymentIntentId", stripeIds("pi_", "ch_")],
  ["payment.refund", "amount", money],
  ["invoice.create", "accountId", text(255)],
  [
    "invoice.create",
    "items",
    [
      [{}, "must be an array of items"],
      ["[]", "must be an array of items"],
      [[], "must hold 1 to 100 items"],
      [
        Array.from({ length: 101 }, () => ({ amount: 1, currency: "usd", description: "x" })),
        "must hold 1 to 100 items",
      ],
    ],
  ],
])("%s.%s", (type, field, cases) => {
  const optional =
    (type === "customer.ensure" && field === "email") ||
    field === "trialDays" ||
    (type === "payment.refund" && field === "amount");

  it.each(cases)("refuses %j: %s", (value, message) => {
    expect(errorsOf(withField(type, field, value))).toEqual([{ field, message }]);
  });

  it(optional ? "is optional" : "is required", () => {
    const result = validateCommand(withField(type, field, undefined));
    if (optional) expect(result.ok).toBe(true);
    else expect(errorsOf(withField(type, field, undefined))).toEqual([{ field, message: "required" }]);
    if (!optional) expect(errorsOf(withField(type, field, null))).toEqual([{ field, message: "required" }]);
  });
});

describe("boundaries that pass", () => {
  it.each<[keyof typeof valid, string, unknown]>([
    ["deposit.create", "accountId", "a"],
    ["deposit.create", "accountId", "é".repeat(255)],
    ["deposit.create", "amount", 1],
    ["deposit.create", "amount", Number.MAX_SAFE_INTEGER],
    ["balance.charge", "reason", "r".repeat(500)],
    ["balance.charge", "reason", "Überweisung 💶 März"],
    ["subscription.create", "trialDays", 1],
    ["subscription.create", "trialDays", 730],
    ["subscription.create", "priceId", `price_${"A".repeat(249)}`],
    ["customer.ensure", "email", "ada.lovelace+billing@mail.example.co.uk"],
  ])("%s.%s = %j", (type, field, value) => {
    expect(validateCommand(withField(type, field, value)).ok).toBe(true);
  });
});

// The id is the idempotency key and the AMQP messageId (a short string of at most 255 bytes).
describe("id", () => {
  it.each<[unknown, string]>([
    [undefined, "required"],
    [null, "required"],
    ["", "must not be empty"],
    ["x".repeat(256), "must be at most 255 characters"],
    ["é".repeat(128), "must be at most 255 bytes in UTF-8"],
    ["cmd\t1", "must not contain control or unprintable characters"],
    ["cmd\u007f", "must not contain control or unprintable characters"],
    ["cmd\u202e1", "must not contain control or unprintable characters"],
    [42, "must be a string"],
  ])("refuses %j", (id, message) => {
    expect(errorsOf(withField("deposit.create", "id", id))).toEqual([{ field: "id", message }]);
  });

  it.each(["a", "x".repeat(255), "é".repeat(127), "order 42 / retry #1", "01J9Z8Q7W6E5R4T3Y2U1I0OPAS"])(
    "accepts %j",
    (id) => {
      expect(validateCommand(withField("deposit.create", "id", id)).ok).toBe(true);
    },
  );
});

describe("invoice.create items", () => {
  const items = (...list: unknown[]) => withField("invoice.create", "items", list);
  const item = { amount: 100, currency: "usd", description: "Line" };

  it.each<[unknown[], FieldError[]]>([
    [[null], [{ field: "items[0]", message: "must be an object" }]],
    [[item, "x"], [{ field: "items[1]", message: "must be an object" }]],
    [
      [{ ...item, amount: 0 }],
      [
        {
          field: "items[0].amount",
          message: "must be a positive integer in minor units (e.g. 1050 for 10.50)",
        },
      ],
    ],
    [
      [{ ...item, currency: "USD" }],
      [{ field: "items[0].currency", message: "must be a lower-case ISO 4217 code such as usd" }],
    ],
    [[{ ...item, description: "" }], [{ field: "items[0].description", message: "must not be empty" }]],
    [
      [{ ...item, description: "d".repeat(501) }],
      [{ field: "items[0].description", message: "must be at most 500 characters" }],
    ],
    [[{ amount: 1, currency: "usd" }], [{ field: "items[0].description", message: "required" }]],
    [[{ ...item, quantity: 2 }], [{ field: "items[0].quantity", message: "unknown field" }]],
    [
      [item, { ...item, currency: "eur" }, { ...item, currency: "gbp" }],
      [
        { field: "items[1].currency", message: "must be usd, the currency of items[0]" },
        { field: "items[2].currency", message: "must be usd, the currency of items[0]" },
      ],
    ],
  ])("refuses %j", (list, errors) => {
    expect(errorsOf(items(...list))).toEqual(errors);
  });

  it("accepts 100 items in one currency", () => {
    const result = validateCommand(items(...Array.from({ length: 100 }, () => item)));
    expect(result.ok).toBe(true);
  });
});

// The request hash detects "same id, different fields" (idempotency_conflict); key order must not matter.
describe("commandRequestHash", () => {
  const hash = (input: unknown) => {
    const result = validateCommand(input);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    return commandRequestHash(result.command);
  };

  it("is sha256 hex, equal for the same fields in any key order", () => {
    const a = hash({ id: "c1", type: "deposit.create", accountId: "a", amount: 100, currency: "usd" });
    const b = hash({ currency: "usd", amount: 100, accountId: "a", type: "deposit.create", id: "c1" });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).toBe(b);
    const items1 = {
      id: "c",
      type: "invoice.create",
      accountId: "a",
      items: [{ amount: 1, currency: "usd", description: "x" }],
    };
    const items2 = {
      items: [{ description: "x", currency: "usd", amount: 1 }],
      accountId: "a",
      type: "invoice.create",
      id: "c",
    };
    expect(hash(items1)).toBe(hash(items2));
  });

  it("differs when any field differs", () => {
    const base = valid["invoice.create"];
    const variants = [
      { ...base, id: "cmd-5b" },
      { ...base, accountId: "acct-43" },
      { ...base, items: [...(base.items as object[])].reverse() },
      { ...base, items: [{ amount: 1000, currency: "eur", description: "Setup" }] },
    ];
    const hashes = new Set([base, ...variants].map(hash));
    expect(hashes.size).toBe(5);
    expect(hash({ ...valid["payment.refund"], amount: 500 })).not.toBe(
      hash({ ...valid["payment.refund"], amount: undefined }),
    );
    expect(hash(valid["subscription.cancel"])).not.toBe(
      hash({ ...valid["subscription.cancel"], atPeriodEnd: false }),
    );
  });

  it("is the same for an omitted optional field and a null one", () => {
    const base = { id: "c", type: "customer.ensure", accountId: "a" };
    expect(hash(base)).toBe(hash({ ...base, email: null }));
  });
});
