import pg from "pg";
import { describe, expect, it } from "vitest";
import { classifyDbError } from "../../lib/db/classify-error.ts";
import { PermanentError, TransientError } from "../../lib/domain/errors.ts";

// What Postgres and the network throw decides retry versus dead-letter: a lost race or a lost
// connection must come out transient (with its code), and nothing else may be dressed up as one.

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("classifyDbError", () => {
  it.each([
    ["40001", "serialization_failure"],
    ["40P01", "deadlock"],
    ["08006", "database_unavailable"],
    ["08001", "database_unavailable"],
    ["08P01", "database_unavailable"],
    ["57P01", "database_unavailable"],
    ["57P02", "database_unavailable"],
    ["57P03", "database_unavailable"],
    ["53300", "database_unavailable"],
    ["ECONNREFUSED", "database_unavailable"],
    ["ECONNRESET", "database_unavailable"],
    ["ETIMEDOUT", "database_unavailable"],
  ])("SQLSTATE/errno %s is transient (%s)", (code, expected) => {
    const original = withCode("boom", code);
    const classified = classifyDbError(original);
    expect(classified).toBeInstanceOf(TransientError);
    expect(classified).toMatchObject({ code: expected, cause: original });
  });

  it.each([
    "Connection terminated unexpectedly",
    "Connection terminated due to connection timeout",
    "timeout exceeded when trying to connect",
  ])("pg's %j is transient", (message) => {
    expect(classifyDbError(new Error(message))).toMatchObject({
      kind: "transient",
      code: "database_unavailable",
    });
  });

  it("looks inside an AggregateError from a multi-address connect", () => {
    const aggregate = new AggregateError([withCode("a", "ECONNREFUSED"), withCode("b", "ECONNREFUSED")], "x");
    expect(classifyDbError(aggregate)).toMatchObject({ code: "database_unavailable" });
  });

  it.each([
    ["a unique violation", withCode("duplicate key", "23505")],
    ["a syntax error", withCode("syntax error", "42601")],
    ["a plain Error", new Error("handler bug")],
    ["a thrown string", "boom"],
    ["undefined", undefined],
  ])("leaves %s as it is", (_, error) => {
    expect(classifyDbError(error)).toBe(error);
  });

  it("leaves our own errors as they are", () => {
    const permanent = new PermanentError("unknown_account", "x");
    const transient = new TransientError("out_of_order", "y");
    expect(classifyDbError(permanent)).toBe(permanent);
    expect(classifyDbError(transient)).toBe(transient);
  });

  // A real refused connection (nothing listens on port 9) classifies as transient.
  it("classifies a real refused connection as transient", async () => {
    const client = new pg.Client({ connectionString: "postgres://nobody@127.0.0.1:9/none" });
    const error = await client.connect().catch((e: unknown) => e);
    expect(classifyDbError(error)).toMatchObject({ kind: "transient", code: "database_unavailable" });
  });
});
