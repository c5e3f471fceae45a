import { sql } from "kysely";
import type { Db } from "../db/database.ts";
import type { CursorPosition } from "../domain/reconcile-window.ts";
import type { LeaderLock } from "./leader-lock.ts";

// billing.reconcile_cursor, one row per stream. Anyone may read it (standbys, doctor, the console);
// only the active reconciler writes it, through its lock's connection (LeaderLock.run), so that
// a reconciler that lost the lock cannot move the cursor.

/** The stream of Stripe events read from GET /v1/events. */
export const stripeEventsStream = "stripe-events";

/** A stored cursor row. */
export interface StoredCursor extends CursorPosition {
  readonly lastPassStartedAt: Date | null;
  readonly lastSuccessAt: Date | null;
  readonly lastFoundMissing: number | null;
}

const columns = [
  "cursor_created",
  "listed_through",
  "last_pass_started_at",
  "last_success_at",
  "last_found_missing",
] as const;

type Row = {
  cursor_created: number | null;
  listed_through: number | null;
  last_pass_started_at: Date | null;
  last_success_at: Date | null;
  last_found_missing: number | null;
};

function fromRow(row: Row | undefined): StoredCursor | undefined {
  if (row === undefined) return undefined;
  return {
    // bigint arrives as a number (lib/db/database.ts's parser) on the pool; as text on a bare client
    cursorCreated: row.cursor_created === null ? null : Number(row.cursor_created),
    listedThrough: row.listed_through === null ? null : Number(row.listed_through),
    lastPassStartedAt: row.last_pass_started_at,
    lastSuccessAt: row.last_success_at,
    lastFoundMissing: row.last_found_missing,
  };
}

/** The stream's cursor as stored (undefined: no pass has run yet), read through the pool. */
export async function readCursor(db: Db, stream: string): Promise<StoredCursor | undefined> {
  const row = await db
    .selectFrom("reconcile_cursor")
    .select(columns)
    .where("stream", "=", stream)
    .executeTakeFirst();
  return fromRow(row);
}

/** Reads the cursor through the lock's connection (doubles as a check that the lock still stands). */
export async function readCursorLocked(
  lock: LeaderLock,
  db: Db,
  stream: string,
): Promise<StoredCursor | undefined> {
  const [row] = await lock.run(
    db.selectFrom("reconcile_cursor").select(columns).where("stream", "=", stream).compile(),
  );
  return fromRow(row);
}

/** Records that a pass began (creating the row on the first pass). */
export async function markPassStarted(lock: LeaderLock, db: Db, stream: string): Promise<void> {
  await lock.run(
    db
      .insertInto("reconcile_cursor")
      .values({ stream, last_pass_started_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
      .onConflict((oc) =>
        oc
          .column("stream")
          .doUpdateSet({ last_pass_started_at: sql<Date>`now()`, updated_at: sql<Date>`now()` }),
      )
      .compile(),
  );
}

/** Stores a successful pass: the advanced cursor (never moved back), its success time and what it found. */
export async function markPassSucceeded(
  lock: LeaderLock,
  db: Db,
  stream: string,
  cursor: CursorPosition,
  foundMissing: number,
): Promise<void> {
  await lock.run(
    db
      .updateTable("reconcile_cursor")
      .set({
        cursor_created: sql<number>`greatest(cursor_created, ${cursor.cursorCreated}::bigint)`,
        listed_through: sql<number>`greatest(listed_through, ${cursor.listedThrough}::bigint)`,
        last_success_at: sql<Date>`now()`,
        last_found_missing: foundMissing,
        updated_at: sql<Date>`now()`,
      })
      .where("stream", "=", stream)
      .compile(),
  );
}
