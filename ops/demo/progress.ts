/** Progress through named phases: a redrawn bar on a terminal, one plain line per phase otherwise. */
export interface Progress {
  /** Starts the next phase, with the number of steps it will report. */
  phase(name: string, steps: number): void;
  /** Steps done so far in the current phase. */
  update(done: number): void;
  /** A line printed above the bar (or as is without a terminal). */
  note(line: string): void;
  /** Ends the current phase. */
  done(): void;
  /** Clears the bar; nothing is drawn or printed after it. */
  close(): void;
}

const barWidth = 28;

/** One frame of the bar: `[#######·······]  42%  deposits 120/300`. */
export function renderBar(fraction: number, label: string, columns = 100): string {
  const clamped = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(clamped * barWidth);
  const bar = `[${"#".repeat(filled)}${"·".repeat(barWidth - filled)}] ${String(Math.round(clamped * 100)).padStart(3)}%  ${label}`;
  return bar.length > columns - 1 ? `${bar.slice(0, columns - 2)}…` : bar;
}

/** The overall fraction: whole phases done plus the share of the current one. */
export function overallFraction(phaseIndex: number, phaseCount: number, done: number, steps: number): number {
  if (phaseCount <= 0) return 1;
  const within = steps <= 0 ? 0 : Math.min(1, done / steps);
  return (Math.max(0, phaseIndex) + within) / phaseCount;
}

/** A Progress on `stream`; `phaseCount` is how many phases the run has. */
export function createProgress(stream: NodeJS.WriteStream, phaseCount: number): Progress {
  const tty = stream.isTTY === true;
  let index = -1;
  let name = "";
  let steps = 0;
  let done = 0;
  let startedAt = Date.now();
  let lastDraw = 0;
  let closed = false;
  const write = (text: string) => {
    if (!closed) stream.write(text);
  };

  const draw = (force = false) => {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - lastDraw < 80) return;
    lastDraw = now;
    const label = steps > 0 ? `${name} ${done}/${steps}` : name;
    write(
      `\r\x1b[2K${renderBar(overallFraction(index, phaseCount, done, steps), label, stream.columns ?? 100)}`,
    );
  };
  const clear = () => {
    if (tty) write("\r\x1b[2K");
  };

  return {
    phase(next, nextSteps) {
      index += 1;
      name = next;
      steps = nextSteps;
      done = 0;
      startedAt = Date.now();
      draw(true);
    },
    update(count) {
      done = count;
      draw();
    },
    note(line) {
      clear();
      write(`${line}\n`);
      draw(true);
    },
    done() {
      const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
      const what = steps > 0 ? ` (${steps})` : "";
      if (tty) {
        clear();
        write(`  ✓ ${name}${what} ${seconds} s\n`);
        draw(true);
      } else write(`  - ${name}${what}: done in ${seconds} s\n`);
    },
    close() {
      clear();
      closed = true;
    },
  };
}
