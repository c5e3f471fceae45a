import type pg from "pg";
import type { Command } from "../../lib/domain/commands.ts";
import { waitFor } from "../fleet-runner/wait.ts";
import type { AmqpCommands } from "./amqp-commands.ts";
import { type CommandRow, commandRows } from "./books.ts";
import type { HttpCommands } from "./http-commands.ts";
import type { Progress } from "./progress.ts";

/** A command and the way it travels. */
export interface Outgoing {
  readonly command: Command;
  readonly overAmqp: boolean;
}

/** Counts of what was sent, by route. */
export interface SendCounts {
  http: number;
  amqp: number;
}

/** Sends commands and waits for their outcome in billing.commands. */
export interface CommandBatches {
  /** Sends every command (a few at a time), then waits until each has a row; returns the rows. */
  run(
    outgoing: readonly Outgoing[],
    progress: Progress,
    timeoutMs?: number,
  ): Promise<Map<string, CommandRow>>;
  /** Sends without waiting (resends of commands already done). */
  sendOnly(outgoing: readonly Outgoing[]): Promise<void>;
  readonly counts: SendCounts;
}

const inFlight = 16;

/** Batches over HTTP and, when the client library is there, AMQP. */
export function commandBatches(
  pool: pg.Pool,
  http: HttpCommands,
  amqp: AmqpCommands | undefined,
): CommandBatches {
  const counts: SendCounts = { http: 0, amqp: 0 };
  const sendOne = async ({ command, overAmqp }: Outgoing) => {
    if (overAmqp && amqp !== undefined) {
      await amqp.send(command);
      counts.amqp += 1;
    } else {
      await http.send(command);
      counts.http += 1;
    }
  };
  const sendAll = async (outgoing: readonly Outgoing[], onSent: (n: number) => void) => {
    let next = 0;
    let sent = 0;
    const lane = async () => {
      while (next < outgoing.length) {
        const item = outgoing[next] as Outgoing;
        next += 1;
        await sendOne(item);
        sent += 1;
        onSent(sent);
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, outgoing.length) }, lane));
  };
  return {
    counts,
    sendOnly: (outgoing) => sendAll(outgoing, () => {}),
    async run(outgoing, progress, timeoutMs = 45_000) {
      // half the bar for sending, half for the outcomes arriving
      const steps = outgoing.length * 2;
      await sendAll(outgoing, (n) => progress.update(n));
      const ids = [...new Set(outgoing.map((o) => o.command.id))];
      let rows = new Map<string, CommandRow>();
      return waitFor(
        async () => {
          rows = await commandRows(pool, ids);
          progress.update(
            Math.min(steps, outgoing.length + Math.round((rows.size / ids.length) * outgoing.length)),
          );
          return rows.size === ids.length ? rows : undefined;
        },
        {
          timeoutMs,
          intervalMs: 100,
          describe: () => {
            const missing = ids.filter((id) => !rows.has(id));
            return `${missing.length} of ${ids.length} commands have no outcome after ${timeoutMs / 1000} s (e.g. ${missing.slice(0, 3).join(", ")}); see the worker logs`;
          },
        },
      );
    },
  };
}
