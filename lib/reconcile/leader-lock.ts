import { type CompiledQuery, sql } from "kysely";
import pg from "pg";
import type { Db } from "../db/database.ts";
import { errorMessage } from "../domain/errors.ts";
import type { Logger } from "../log.ts";

// One active reconciler among many: a session-level Postgres advisory lock, held on a connection
// of its own (never a pooled one, which could be swapped under us and lose the lock unnoticed).
// The lock lives exactly as long as that session: when the process or the connection dies,
// Postgres frees it and a standby takes it at its next try. The active one's cursor writes go
// through the same connection, so a write that succeeds was made while the lock was held.

export interface LeaderLock {
  /** Takes the lock if it is free (connecting first when needed); true while this process holds it. */
  tryAcquire(): Promise<boolean>;
  /** True while the lock is held, as far as this process knows. */
  held(): boolean;
  /** Runs a query on the lock's connection; any failure drops the connection, and with it the lock. */
  run<R>(query: CompiledQuery<R>): Promise<R[]>;
  /** Called once each time a held lock is lost (its connection closed or failed). */
  onLost(listener: (reason: string) => void): void;
  /** Unlocks and closes the connection. */
  release(): Promise<void>;
}

export interface LeaderLockOptions {
  readonly url: string;
  /** Names the lock: one active holder per name and database. */
  readonly name: string;
  /** The query builder the lock's statements are compiled with (never executed on its pool). */
  readonly db: Db;
  readonly log: Logger;
  /** A statement on the lock's connection that takes longer counts as a lost connection. */
  readonly queryTimeoutMs?: number;
  readonly applicationName?: string;
}

/** A lock handle; it connects on the first tryAcquire. */
export function createLeaderLock(options: LeaderLockOptions): LeaderLock {
  const log = options.log.child({ subsystem: "leader-lock", lock: options.name });
  const listeners: Array<(reason: string) => void> = [];
  let client: pg.Client | undefined;
  let locked = false;

  const lose = (reason: string) => {
    const wasLocked = locked;
    locked = false;
    const gone = client;
    client = undefined;
    if (gone !== undefined) void drop(gone);
    if (wasLocked) {
      log.warn({ reason }, "lost the lock: no longer the active one");
      for (const listener of listeners) listener(reason);
    }
  };

  async function connect(): Promise<pg.Client> {
    const fresh = new pg.Client({
      connectionString: options.url,
      application_name: options.applicationName ?? "billing-reconciler-lock",
      keepAlive: true,
      connectionTimeoutMillis: 5000,
      query_timeout: options.queryTimeoutMs ?? 10_000,
    });
    fresh.on("error", (error) => {
      if (client === fresh) lose(`connection error: ${error.message}`);
    });
    fresh.on("end", () => {
      if (client === fresh) lose("connection closed");
    });
    await fresh.connect();
    return fresh;
  }

  async function run<R>(query: CompiledQuery<R>): Promise<R[]> {
    const current = client;
    if (current === undefined) throw new Error("the lock's connection is not open");
    try {
      const result = await current.query(query.sql, [...query.parameters]);
      return result.rows as R[];
    } catch (error) {
      if (client === current) lose(`query failed: ${errorMessage(error)}`);
      throw error;
    }
  }

  return {
    async tryAcquire() {
      if (locked) return true;
      try {
        client ??= await connect();
        const [row] = await run(
          sql<{
            locked: boolean;
          }>`SELECT pg_try_advisory_lock(hashtextextended(${options.name}, 0)) AS locked`.compile(options.db),
        );
        locked = row?.locked === true;
      } catch (error) {
        log.warn({ reason: errorMessage(error) }, "cannot try the lock; trying again later");
        locked = false;
      }
      return locked;
    },
    held: () => locked,
    run,
    onLost(listener) {
      listeners.push(listener);
    },
    async release() {
      const current = client;
      client = undefined;
      locked = false;
      // Ending the session frees the lock: no unlock statement that could hang on a bad connection.
      if (current !== undefined) await drop(current);
    },
  };
}

/** Ends a connection for sure: a graceful end, or the socket destroyed if that has not closed it in a second. */
function drop(client: pg.Client): Promise<void> {
  // The server frees the lock only when the session ends, so a half-open socket must not linger.
  const socket = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      socket?.destroy();
      resolve();
    }, 1000);
    client.end().then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        socket?.destroy();
        resolve();
      },
    );
  });
}
