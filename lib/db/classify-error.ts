import { BillingError, type ErrorCode, TransientError } from "../domain/errors.ts";

// Postgres and the network fail in ways that a second try fixes: a serialization failure or a
// deadlock (the other transaction won), a server restarting, a dropped or refused connection.
// Those become TransientErrors with a code; anything else is left as it is.

const transientSqlStates: Readonly<Record<string, ErrorCode>> = {
  "40001": "serialization_failure",
  "40P01": "deadlock",
  "57P01": "database_unavailable", // admin_shutdown
  "57P02": "database_unavailable", // crash_shutdown
  "57P03": "database_unavailable", // cannot_connect_now
  "53300": "database_unavailable", // too_many_connections
  // After a failover a session can land on a read-only standby (or a database set read-only):
  // nothing can be written until the primary is back, whatever the message.
  "25006": "database_unavailable", // read_only_sql_transaction
};

const transientSocketCodes: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
]);

// What pg and pg-pool say when a connection dies or cannot be had; they carry no code.
const connectionLost = /Connection terminated|timeout exceeded when trying to connect|not queryable/i;
const stalePlan = /cached plan must not change result type/i;
// 55000 is a broad SQLSTATE; only its connect-time form (ALLOW_CONNECTIONS false) means an outage.
const notAccepting = /is not currently accepting connections/i;

/** A pg/node error as a TransientError when retrying can help; BillingErrors and anything else as they are. */
export function classifyDbError(error: unknown): unknown {
  if (error instanceof BillingError || !(error instanceof Error)) return error;
  const code = transientCode(error);
  if (code === undefined) return error;
  return new TransientError(code, `${describe(code)}: ${error.message}`, { cause: error });
}

function transientCode(error: Error): ErrorCode | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    const known = transientSqlStates[code];
    if (known !== undefined) return known;
    if (code === "55000" && notAccepting.test(error.message)) return "database_unavailable";
    // a migration changed what a prepared statement returns: its connection is dropped (prepared-statements.ts)
    if (code === "0A000" && stalePlan.test(error.message)) return "serialization_failure";
    // class 08: connection exception
    if (/^08[0-9A-Z]{3}$/.test(code)) return "database_unavailable";
    if (transientSocketCodes.has(code)) return "database_unavailable";
  }
  if (connectionLost.test(error.message)) return "database_unavailable";
  // Node's happy-eyeballs connect fails with an AggregateError of the per-address errors.
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      if (inner instanceof Error && transientCode(inner) !== undefined) return "database_unavailable";
    }
  }
  return undefined;
}

/**
 * True when `error` says the database itself cannot be used (unreachable, restarting, refusing
 * connections, read-only): an outage of the infrastructure, not a failure of the message at hand.
 */
export function isDatabaseOutage(error: unknown): boolean {
  const classified = classifyDbError(error);
  return classified instanceof TransientError && classified.code === "database_unavailable";
}

function describe(code: ErrorCode): string {
  if (code === "serialization_failure") return "serialization failure";
  if (code === "deadlock") return "deadlock";
  return "database unavailable";
}
