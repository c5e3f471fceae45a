import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../lib/log.ts";

/** A logger whose lines a test can read back (parsed), to count what an operator would see. */
export interface CapturedLog {
  readonly log: Logger;
  /** Every line so far whose msg contains `text`. */
  lines(text?: string): Array<Record<string, unknown>>;
}

/** A logger at `level` (default info) that keeps its lines in memory. */
export function capturedLog(name = "test", level: "info" | "debug" = "info"): CapturedLog {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return {
    log: createLogger({ level, name, destination }),
    lines: (text) => (text === undefined ? [...lines] : lines.filter((l) => String(l.msg).includes(text))),
  };
}
