import { describe, expect, it } from "vitest";
import { nextPollDelay, type PollOutcome } from "../../lib/relay/poll-delay.ts";

const delays = { idleMinMs: 50, idleMaxMs: 1000, errorMinMs: 100, errorMaxMs: 5000 };
const published = (count: number): PollOutcome => ({ kind: "published", count, batchSize: 100 });
const failed: PollOutcome = { kind: "failed" };

describe("nextPollDelay", () => {
  // A full batch means more is waiting: claim again at once. Idle polling backs off 50 ms → 1 s,
  // failures 100 ms → 5 s, and any published work brings the relay back to its fastest poll.
  it.each<[string, number, PollOutcome, number]>([
    ["full batch", 0, published(100), 0],
    ["full batch after idling", 1000, published(100), 0],
    ["full batch after a failure", 5000, published(100), 0],
    ["partial batch", 0, published(3), 50],
    ["partial batch after idling", 800, published(1), 50],
    ["first empty poll", 0, published(0), 50],
    ["empty again", 50, published(0), 100],
    ["empty again", 400, published(0), 800],
    ["empty, capped", 800, published(0), 1000],
    ["empty at the cap", 1000, published(0), 1000],
    ["empty after a long failure wait", 5000, published(0), 1000],
    ["first failure", 0, failed, 100],
    ["first failure after idling", 50, failed, 100],
    ["failure again", 100, failed, 200],
    ["failure again", 3200, failed, 5000],
    ["failure at the cap", 5000, failed, 5000],
  ])("%s (previous %i ms)", (_name, previous, outcome, expected) => {
    expect(nextPollDelay(previous, outcome, delays)).toBe(expected);
  });
});
