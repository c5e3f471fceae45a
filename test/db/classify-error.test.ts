import pg from "pg";
import { describe, expect, it } from "vitest";
import { classifyDbError, isDatabaseOutage } from "../../lib/db/classify-error.ts";
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
    ["25006", "database_unavailable"],
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

  // ALLOW_CONNECTIONS false answers 55000, a code Postgres uses for other things too.
  it("takes 55000 as an outage only when the database refuses connections", () => {
    const refusing = withCode('database "billing" is not currently accepting connections', "55000");
    expect(classifyDbError(refusing)).toMatchObject({ code: "database_unavailable" });
    const other = withCode("currval of sequence is not yet defined in this session", "55000");
    expect(classifyDbError(other)).toBe(other);
  });
});

// The gate closes on these and only these: the message at hand is not what failed.
describe("isDatabaseOutage", () => {
  it.each([
    ["refused", withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED")],
    ["terminated", new Error("Connection terminated unexpectedly")],
    ["admin shutdown", withCode("terminating connection due to administrator command", "57P01")],
    ["too many connections", withCode("sorry, too many clients already", "53300")],
    ["read-only", withCode("cannot execute INSERT in a read-only transaction", "25006")],
    ["already classified", new TransientError("database_unavailable", "x")],
  ])("%s is an outage", (_, error) => {
    expect(isDatabaseOutage(error)).toBe(true);
  });

  it.each([
    ["a deadlock", withCode("deadlock detected", "40P01")],
    ["a serialization failure", withCode("could not serialize", "40001")],
    ["a unique violation", withCode("duplicate key", "23505")],
    ["a handler bug", new Error("undefined is not a function")],
    ["Stripe down", new TransientError("stripe_unavailable", "503")],
    ["a bad message", new PermanentError("invalid_message", "x")],
  ])("%s is not", (_, error) => {
    expect(isDatabaseOutage(error)).toBe(false);
  });
});
