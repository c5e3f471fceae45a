// Durations as operators type them: a whole number and one unit, "30m", "12h", "3d", "90d".

const unitMs = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export type DurationUnit = keyof typeof unitMs;

/** Parses "90d", "3d", "12h", "30m", "45s" or "2w" into milliseconds; throws a one-line Error otherwise. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,9})([smhdw])$/.exec(text.trim());
  if (match === null) {
    throw new Error(`"${text}" is not a duration (a whole number and a unit: 30m, 12h, 3d, 90d)`);
  }
  const ms = Number(match[1]) * unitMs[match[2] as DurationUnit];
  if (ms === 0) throw new Error(`"${text}" is not a duration: it must be longer than zero`);
  return ms;
}

/** The largest exact unit: 259200000 → "3d", 5400000 → "90m". */
export function formatDuration(ms: number): string {
  for (const unit of ["w", "d", "h", "m", "s"] as const) {
    if (ms >= unitMs[unit] && ms % unitMs[unit] === 0) return `${ms / unitMs[unit]}${unit}`;
  }
  return `${ms}ms`;
}
