import { describe, expect, it } from "vitest";
import { commandHandler } from "../../lib/commands/command-table.ts";
import { commandTypes } from "../../lib/domain/command-types.ts";
import { PermanentError } from "../../lib/domain/errors.ts";

// The dispatch table covers every command type of the Contract and refuses any other name loudly
// (a permanent error, so the message is parked for ops instead of being retried).

describe("commandHandler", () => {
  it.each(commandTypes)("has a handler for %s", (type) => {
    expect(commandHandler(type)).toBeTypeOf("function");
  });

  it.each(["deposit.make", "toString", "__proto__", ""])("refuses %j", (name) => {
    expect(() => commandHandler(name as never)).toThrow(PermanentError);
    expect(() => commandHandler(name as never)).toThrow(/no handler for command type/);
  });
});
