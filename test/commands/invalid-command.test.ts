import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermanentError } from "../../lib/domain/errors.ts";
import {
  type CommandHarness,
  commandInbound,
  rawCommandInbound,
  startCommandHarness,
} from "./command-harness.ts";

// A message that is not a valid command can never apply as it is: it is a PermanentError
// (invalid_command → the DLQ, where ops can fix and replay it) naming every problem, and nothing
// is written (not even the inbox row, so a fixed replay applies) and Stripe is never called.

let h: CommandHarness;

beforeAll(async () => {
  h = await startCommandHarness();
});
afterAll(() => h.close());

async function refusal(message: ReturnType<typeof rawCommandInbound>): Promise<PermanentError> {
  const error = await h.apply(message).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PermanentError);
  expect(error).toMatchObject({ code: "invalid_command" });
  return error as PermanentError;
}

describe("a message that is not a valid command", () => {
  it.each([
    ["bad JSON", rawCommandInbound("bad-1", "command.deposit.create", "{not json"), /not JSON/],
    [
      "an unknown type",
      rawCommandInbound("bad-2", "command.deposit.make", { id: "bad-2", type: "deposit.make" }),
      /type: must be one of customer\.ensure/,
    ],
    [
      "field errors, all of them",
      rawCommandInbound("bad-3", "command.deposit.create", {
        id: "bad-3",
        type: "deposit.create",
        accountId: "acct-1",
        amount: -5,
        currency: "USD",
        colour: "red",
      }),
      /amount: must be a positive integer.*currency: must be a lower-case ISO 4217.*colour: unknown field/,
    ],
    [
      "a messageId that is not the command id",
      rawCommandInbound("other-id", "command.customer.ensure", {
        id: "bad-4",
        type: "customer.ensure",
        accountId: "acct-1",
      }),
      /messageId "other-id" is not the command's id "bad-4"/,
    ],
    [
      "a routing key of another type",
      rawCommandInbound("bad-5", "command.balance.charge", {
        id: "bad-5",
        type: "customer.ensure",
        accountId: "acct-1",
      }),
      /routing key "command\.balance\.charge" does not match the command's type customer\.ensure/,
    ],
  ])("%s is a permanent invalid_command naming the problem", async (_name, message, text) => {
    const requests = h.emulator.requests().length;
    const error = await refusal(message);
    expect(error.message).toMatch(text);
    expect(h.emulator.requests()).toHaveLength(requests);
    expect(await h.db.selectFrom("processed_messages").selectAll().execute()).toEqual([]);
    expect(await h.db.selectFrom("commands").selectAll().execute()).toEqual([]);
    expect(await h.db.selectFrom("outbox").selectAll().execute()).toEqual([]);
  });

  // Ops fix the body and replay it under the same id: it applies like any first delivery.
  it("applies once fixed and replayed", async () => {
    await refusal(
      rawCommandInbound("fixme", "command.customer.ensure", {
        id: "fixme",
        type: "customer.ensure",
        accountId: "",
      }),
    );
    const fixed = commandInbound({ id: "fixme", type: "customer.ensure", accountId: "acct-fixed" });
    expect(await h.apply(fixed)).toBe("applied");
    expect(await h.db.selectFrom("commands").select(["command_id", "status"]).execute()).toEqual([
      { command_id: "fixme", status: "succeeded" },
    ]);
  });
});
