import { describe, expect, it } from "vitest";
import {
  advanceCursor,
  coveredThrough,
  cursorLagS,
  passWindow,
  stripeEventRetentionS,
} from "../../lib/domain/reconcile-window.ts";

// Where a pass lists from, how far behind it is, and when history has fallen out of Stripe's
// 30-day retention: a quiet account is not a gap, an old cursor is.

const settings = { lookbackS: 3 * 86_400, overlapS: 300 };
const now = 2_000_000_000;
const day = 86_400;

describe("passWindow", () => {
  it("starts the first pass at the look-back", () => {
    expect(passWindow(undefined, now, settings)).toEqual({
      fromS: now - 3 * day,
      coveredThroughS: null,
      lostUntilS: null,
    });
    expect(passWindow({ cursorCreated: null, listedThrough: null }, now, settings).fromS).toBe(now - 3 * day);
  });

  it("lists from the newest event seen minus the overlap", () => {
    const window = passWindow({ cursorCreated: now - 60, listedThrough: now - 30 }, now, settings);
    expect(window).toEqual({ fromS: now - 360, coveredThroughS: now - 30, lostUntilS: null });
  });

  it("lists from the last pass's start when no event was ever seen", () => {
    expect(passWindow({ cursorCreated: null, listedThrough: now - 100 }, now, settings).fromS).toBe(
      now - 400,
    );
  });

  // A quiet account: the newest event is 40 days old, but a pass listed everything an hour ago.
  it("is no gap when the account was quiet but passes kept running", () => {
    const window = passWindow({ cursorCreated: now - 40 * day, listedThrough: now - 3600 }, now, settings);
    expect(window.lostUntilS).toBeNull();
    expect(window.fromS).toBe(now - 40 * day - 300);
  });

  it("reports the history nobody listed once the cursor is past the retention", () => {
    const cursor = { cursorCreated: now - 31 * day, listedThrough: now - 31 * day };
    expect(passWindow(cursor, now, settings)).toEqual({
      fromS: now - 31 * day - 300,
      coveredThroughS: now - 31 * day,
      lostUntilS: now - stripeEventRetentionS,
    });
    expect(
      passWindow({ cursorCreated: now - 29 * day, listedThrough: null }, now, settings).lostUntilS,
    ).toBeNull();
  });
});

describe("coveredThrough and cursorLagS", () => {
  it.each([
    [undefined, null, null],
    [{ cursorCreated: null, listedThrough: null }, null, null],
    [{ cursorCreated: now - 50, listedThrough: null }, now - 50, 50],
    [{ cursorCreated: null, listedThrough: now - 20 }, now - 20, 20],
    [{ cursorCreated: now - 50, listedThrough: now - 20 }, now - 20, 20],
    // a cursor in the future (a clock step) is no negative lag
    [{ cursorCreated: now + 5, listedThrough: now - 20 }, now + 5, 0],
  ])("%j → covered %s, lag %s", (cursor, covered, lag) => {
    expect(coveredThrough(cursor)).toBe(covered);
    expect(cursorLagS(cursor, now)).toBe(lag);
  });
});

describe("advanceCursor", () => {
  it("takes the newest event listed and the pass's start", () => {
    expect(advanceCursor(undefined, { startedS: now, newestCreatedS: now - 5 })).toEqual({
      cursorCreated: now - 5,
      listedThrough: now,
    });
    expect(advanceCursor(undefined, { startedS: now, newestCreatedS: null })).toEqual({
      cursorCreated: null,
      listedThrough: now,
    });
  });

  it("never moves back", () => {
    const previous = { cursorCreated: now - 5, listedThrough: now + 100 };
    expect(advanceCursor(previous, { startedS: now, newestCreatedS: now - 50 })).toEqual({
      cursorCreated: now - 5,
      listedThrough: now + 100,
    });
    expect(advanceCursor(previous, { startedS: now + 200, newestCreatedS: null })).toEqual({
      cursorCreated: now - 5,
      listedThrough: now + 200,
    });
    expect(advanceCursor(previous, { startedS: now + 200, newestCreatedS: now + 150 })).toEqual({
      cursorCreated: now + 150,
      listedThrough: now + 200,
    });
  });
});
