// How fast the fleet catches up after an outage, from what the outage run saw: when each webhook
// was accepted, and how many events were applied at each sample. Pure, so it is table-tested.

/** One sample of the applied count: [epoch ms, events applied so far]. */
export type AppliedSample = readonly [number, number];

export interface CatchUp {
  /** Accepted and not yet applied when the database came back. */
  readonly backlogAtRestore: number;
  /** From the database's return until applying caught up with accepting; undefined if it never did. */
  readonly catchUpSeconds: number | undefined;
  /** Events applied per second while catching up (the backlog plus the load that kept coming). */
  readonly catchUpEventsPerS: number | undefined;
  /** The backlog divided by the catch-up time: how fast the lag itself shrank. */
  readonly backlogDrainPerS: number | undefined;
}

/**
 * Caught up = the first sample after `restoredAt` where every webhook accepted more than `slackMs`
 * earlier is applied (a steady stream always has a little in flight).
 */
export function catchUp(
  acceptedAt: readonly number[],
  samples: readonly AppliedSample[],
  restoredAt: number,
  slackMs = 1000,
): CatchUp {
  const accepted = [...acceptedAt].sort((a, b) => a - b);
  const acceptedBy = (t: number) => upperBound(accepted, t);
  const ordered = [...samples].sort((a, b) => a[0] - b[0]);
  const atRestore = [...ordered].reverse().find(([t]) => t <= restoredAt)?.[1] ?? 0;
  const backlogAtRestore = Math.max(0, acceptedBy(restoredAt) - atRestore);
  const caughtUp = ordered.find(([t, applied]) => t >= restoredAt && applied >= acceptedBy(t - slackMs));
  if (caughtUp === undefined) {
    return {
      backlogAtRestore,
      catchUpSeconds: undefined,
      catchUpEventsPerS: undefined,
      backlogDrainPerS: undefined,
    };
  }
  const seconds = Math.max(0.001, (caughtUp[0] - restoredAt) / 1000);
  return {
    backlogAtRestore,
    catchUpSeconds: seconds,
    catchUpEventsPerS: (caughtUp[1] - atRestore) / seconds,
    backlogDrainPerS: backlogAtRestore / seconds,
  };
}

/** How many of the sorted `values` are <= `limit`. */
function upperBound(values: readonly number[], limit: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((values[mid] as number) <= limit) low = mid + 1;
    else high = mid;
  }
  return low;
}
