import { setTimeout as delay } from "node:timers/promises";
import type { Channel, ChannelModel } from "amqplib";

// A process makes sure what it uses exists with the least permission it can: passive checks need
// none, and only when something is missing does it declare, which needs `configure` permission.
// Under least privilege only `release` (the topology's owner) has it: a runtime process that finds
// the topology incomplete waits, checking again, until release has declared it. With a user that
// may configure (a one-user development setup, the tests) a missing part is declared at once, so a
// new vhost or a deleted queue is repaired by whichever process connects, as before.
// Both run on channels of their own: a failed passive check or a refused declare closes the
// channel it ran on, and the caller's channel must survive it.

/** Something a process needs on the broker: how to check it passively and how to declare it. */
export interface TopologyPart {
  /** For messages: "the billing topology", "exchange billing.events". */
  readonly what: string;
  /** Rejects when something is missing. */
  check(channel: Channel): Promise<void>;
  /** Declares it all; idempotent. */
  declare(channel: Channel): Promise<void>;
}

export interface EnsureOptions {
  /** Told once per failed round, with the round's number (1, 2, …), so it can log sparingly. */
  readonly onWait?: (reason: string, round: number) => void;
  /** Between two rounds while the part is missing and cannot be declared. */
  readonly retryMs?: number;
  /** Stops waiting (rejects) when this channel closes: the caller's setup is moot then. */
  readonly until?: Channel;
}

const defaultRetryMs = 5000;

/** Resolves once `part` exists on the connection's vhost; see the file comment for how. */
export async function ensureTopology(
  connection: ChannelModel,
  part: TopologyPart,
  options: EnsureOptions = {},
): Promise<void> {
  const stop = new AbortController();
  const onClose = () => stop.abort();
  options.until?.once("close", onClose);
  try {
    for (let round = 1; ; round += 1) {
      const missing = await attempt(connection, part.check);
      if (missing === undefined) return;
      const refused = await attempt(connection, part.declare);
      if (refused === undefined) return;
      options.onWait?.(
        `${part.what} is incomplete (${missing}) and this broker user cannot declare it (${refused}): ` +
          "waiting for `release` (or `billing-ops topology`) to declare it",
        round,
      );
      try {
        await delay(options.retryMs ?? defaultRetryMs, undefined, { signal: stop.signal });
      } catch {
        throw new Error(`channel closed while waiting for ${part.what}`);
      }
    }
  } finally {
    options.until?.removeListener("close", onClose);
  }
}

/** Runs `step` on a fresh channel: undefined when it succeeded, else the broker's reason. */
async function attempt(
  connection: ChannelModel,
  step: (channel: Channel) => Promise<void>,
): Promise<string | undefined> {
  const channel = await connection.createChannel();
  // a refusal closes the channel with an error event; the rejection below reports it
  channel.on("error", () => {});
  try {
    await step(channel);
  } catch (error) {
    return error instanceof Error ? error.message.replace(/^Channel closed by server: /, "") : String(error);
  }
  await channel.close().catch(() => undefined);
  return undefined;
}
