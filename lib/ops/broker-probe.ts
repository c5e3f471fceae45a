import amqplib, { type Channel, type ChannelModel } from "amqplib";
import { withDeadline } from "../deadline.ts";

// A read-only view of the broker for the console: passive queue checks over AMQP give depth and
// consumers without the management plugin. One connection, made on first use and again after it
// is lost; a status read never waits longer than its deadline.

export interface QueueReading {
  readonly queue: string;
  /** False when the queue does not exist (the topology is not declared). */
  readonly present: boolean;
  /** Messages ready for delivery. */
  readonly messages: number;
  readonly consumers: number;
}

export interface BrokerProbe {
  /** Depth and consumers of each queue; rejects when the broker cannot be reached in time. */
  readQueues(queues: readonly string[]): Promise<QueueReading[]>;
  close(): Promise<void>;
}

/** A probe of the broker at `url`; `timeoutMs` bounds a connect and each read. */
export function createBrokerProbe(url: string, options: { timeoutMs: number }): BrokerProbe {
  let connecting: Promise<ChannelModel> | undefined;
  let closed = false;

  const drop = (connection: Promise<ChannelModel>) => {
    if (connecting !== connection) return;
    connecting = undefined;
    connection.then((c) => c.close()).catch(() => undefined);
  };

  const connect = (): Promise<ChannelModel> => {
    if (connecting !== undefined) return connecting;
    const attempt = amqplib.connect(url, { timeout: options.timeoutMs }).then((connection) => {
      // Without listeners an 'error' event would crash the process; the next read reconnects.
      connection.on("error", () => undefined);
      connection.on("close", () => {
        if (connecting === attempt) connecting = undefined;
      });
      return connection;
    });
    attempt.catch(() => {
      if (connecting === attempt) connecting = undefined;
    });
    connecting = attempt;
    return attempt;
  };

  const openChannel = async (connection: ChannelModel): Promise<Channel> => {
    const channel = await connection.createChannel();
    channel.on("error", () => undefined);
    return channel;
  };

  const read = async (queues: readonly string[]): Promise<QueueReading[]> => {
    const connection = await connect();
    let channel = await openChannel(connection);
    const readings: QueueReading[] = [];
    for (const queue of queues) {
      try {
        const ok = await channel.checkQueue(queue);
        readings.push({ queue, present: true, messages: ok.messageCount, consumers: ok.consumerCount });
      } catch {
        // A passive check of a missing queue closes its channel: the next check needs a new one.
        readings.push({ queue, present: false, messages: 0, consumers: 0 });
        channel = await openChannel(connection);
      }
    }
    await channel.close().catch(() => undefined);
    return readings;
  };

  return {
    async readQueues(queues) {
      if (closed) throw new Error("the broker probe is closed");
      const attempt = connect();
      try {
        return await withDeadline(read(queues), options.timeoutMs, "RabbitMQ");
      } catch (error) {
        // A connection that hangs is not reused: the next read connects afresh.
        drop(attempt);
        throw error;
      }
    },
    async close() {
      closed = true;
      const current = connecting;
      connecting = undefined;
      await current?.then((c) => c.close()).catch(() => undefined);
    },
  };
}
