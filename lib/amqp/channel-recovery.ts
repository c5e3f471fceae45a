import type { AmqpConnectionManager, ChannelWrapper } from "amqp-connection-manager";
import type { Channel } from "amqplib";

// How a connection manager's channels come back after any failure, shared by the fleet's processes
// (connection.ts) and the typed client, which must not pull in the fleet's logger or metrics.

/** Where a recovering channel reports what happened to it. */
export type ChannelReport = (event: "error" | "closed", detail: { channel: string; reason?: string }) => void;

/**
 * Replaces the manager's reconnect() with a plain close of the current connection. The manager's
 * own reconnect() strips every listener from the connection it closes, its no-op 'error' listener
 * included: when the broker closes or resets that connection at the same moment (a deleted vhost,
 * a dying node) the socket error is emitted with no listener and kills the process ("write
 * ECONNRESET"), and a close that is never answered leaves the manager waiting forever. With the
 * listeners kept, the manager sees the 'close' and reconnects as after any loss.
 */
export function reconnectByClosing(manager: AmqpConnectionManager): void {
  manager.reconnect = () => {
    manager.connection?.close().catch(() => {
      // already closing or closed: its 'close' event does the reconnect
    });
  };
}

/**
 * A channel whose `setup` runs on every (re)connect. amqplib throws a channel 'error' event that
 * nobody listens to, so one is always listened to here; and since the manager makes a new channel
 * only on reconnect, a channel the broker closes while the connection lives (a missing exchange,
 * a bad ack) forces a reconnect a second later. A channel closing with its connection is left to
 * the ordinary reconnect.
 */
export function openRecoveringChannel<C extends Channel>(
  manager: AmqpConnectionManager,
  options: { name: string; confirm: boolean; setup: (channel: C) => Promise<void>; report: ChannelReport },
): ChannelWrapper {
  let closing = false;
  const wrapper = manager.createChannel({
    name: options.name,
    confirm: options.confirm,
    json: false,
    setup: async (channel: Channel) => {
      channel.on("error", (error: Error) =>
        options.report("error", { channel: options.name, reason: error.message }),
      );
      channel.on("close", () => {
        const connection = manager.connection;
        setTimeout(() => {
          if (!closing && connection !== undefined && manager.connection === connection) {
            options.report("closed", { channel: options.name });
            manager.reconnect();
          }
        }, 1000).unref();
      });
      // the manager makes a confirm channel when asked to, so this is the C the caller asked for
      await options.setup(channel as C);
    },
  });
  const close = wrapper.close.bind(wrapper);
  wrapper.close = async () => {
    closing = true;
    await close();
  };
  return wrapper;
}
