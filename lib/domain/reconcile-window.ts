// Where a reconciliation pass lists from, how far behind the cursor is, and whether part of the
// history has already fallen out of Stripe's event retention. Times are unix seconds.

/** Stripe keeps events for 30 days; older ones cannot be listed. */
export const stripeEventRetentionS = 30 * 86_400;

/** The stored cursor as a pass reads it (null: never written). */
export interface CursorPosition {
  /** The created of the newest event a successful pass listed. */
  readonly cursorCreated: number | null;
  /** When the last successful pass began listing. */
  readonly listedThrough: number | null;
}

export interface WindowSettings {
  /** How far back the first pass (no cursor) lists. */
  readonly lookbackS: number;
  /** The cursor is moved back by this much: created has one-second resolution and events appear late. */
  readonly overlapS: number;
}

/** What one pass is to list. */
export interface PassWindow {
  /** created[gte] of the listing. */
  readonly fromS: number;
  /** Every event created before this was listed by an earlier successful pass; null on a first pass. */
  readonly coveredThroughS: number | null;
  /** Unrecoverable history: events created in [coveredThroughS, lostUntilS) were never listed and are gone. */
  readonly lostUntilS: number | null;
}

/** The newest point an earlier successful pass is known to have listed up to, if any. */
export function coveredThrough(cursor: CursorPosition | undefined): number | null {
  if (cursor === undefined) return null;
  const { cursorCreated, listedThrough } = cursor;
  if (cursorCreated === null) return listedThrough;
  if (listedThrough === null) return cursorCreated;
  return Math.max(cursorCreated, listedThrough);
}

/**
 * The window of the next pass: from the cursor minus the overlap, or (first pass) the look-back.
 * A cursor that only ever saw a quiet account lists from the last pass's start instead.
 */
export function passWindow(
  cursor: CursorPosition | undefined,
  nowS: number,
  settings: WindowSettings,
): PassWindow {
  const covered = coveredThrough(cursor);
  if (covered === null) return { fromS: nowS - settings.lookbackS, coveredThroughS: null, lostUntilS: null };
  const anchor = cursor?.cursorCreated ?? covered;
  const horizon = nowS - stripeEventRetentionS;
  return {
    fromS: anchor - settings.overlapS,
    coveredThroughS: covered,
    lostUntilS: covered < horizon ? horizon : null,
  };
}

/** Seconds of history not yet checked: now minus the covered point (0 when it is in the future). */
export function cursorLagS(cursor: CursorPosition | undefined, nowS: number): number | null {
  const covered = coveredThrough(cursor);
  return covered === null ? null : Math.max(0, nowS - covered);
}

/** The cursor a successful pass leaves: the newest created it listed (never moved back), and its start. */
export function advanceCursor(
  previous: CursorPosition | undefined,
  pass: { readonly startedS: number; readonly newestCreatedS: number | null },
): CursorPosition {
  const before = previous?.cursorCreated ?? null;
  const newest = pass.newestCreatedS;
  return {
    cursorCreated: newest === null ? before : before === null ? newest : Math.max(before, newest),
    listedThrough: Math.max(previous?.listedThrough ?? pass.startedS, pass.startedS),
  };
}
