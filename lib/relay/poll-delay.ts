// How long the relay waits before its next claim. Pure, so the schedule is table-tested.

export interface PollDelays {
  /** Idle polling starts here after a batch that was not full... */
  readonly idleMinMs: number;
  /** ...and doubles while the outbox stays empty, up to here. */
  readonly idleMaxMs: number;
  /** After a failed batch (broker or database), the wait starts here and doubles up to errorMaxMs. */
  readonly errorMinMs: number;
  readonly errorMaxMs: number;
}

/** What the last turn of the loop found. */
export type PollOutcome =
  | { readonly kind: "published"; readonly count: number; readonly batchSize: number }
  | { readonly kind: "failed" };

/** The wait before the next claim: none after a full batch, backing off while empty or failing. */
export function nextPollDelay(previousMs: number, outcome: PollOutcome, delays: PollDelays): number {
  if (outcome.kind === "failed") return backOff(previousMs, delays.errorMinMs, delays.errorMaxMs);
  if (outcome.count >= outcome.batchSize) return 0;
  if (outcome.count > 0) return delays.idleMinMs;
  return backOff(previousMs, delays.idleMinMs, delays.idleMaxMs);
}

function backOff(previousMs: number, minMs: number, maxMs: number): number {
  return previousMs < minMs ? minMs : Math.min(previousMs * 2, maxMs);
}
