import { writeSync } from "node:fs";
import { brokerUserOf } from "../../lib/amqp/broker-url.ts";
import { connectBroker } from "../../lib/amqp/connection.ts";
import { createDb } from "../../lib/db/database.ts";
import { createLogger } from "../../lib/log.ts";
import { startConsumer } from "../../lib/worker/consumer.ts";
import { recordEffect, testAppliers } from "./test-appliers.ts";

// A worker process (the real consumer, test appliers) that dies by SIGKILL right after its
// transaction commits and before the consumer can ack: the crash the inbox must absorb.
// Run by test/worker/consumer-recovery.test.ts with DATABASE_URL and AMQP_URL.

const databaseUrl = process.env.DATABASE_URL;
const amqpUrl = process.env.AMQP_URL;
if (databaseUrl === undefined || amqpUrl === undefined)
  throw new Error("DATABASE_URL and AMQP_URL are required");

const log = createLogger({ level: "info", name: "crash-after-commit" });
const db = createDb({ url: databaseUrl, poolSize: 2 });
const broker = connectBroker(amqpUrl, { log, name: "crash-after-commit" });
const appliers = testAppliers(db, recordEffect);
startConsumer(
  {
    broker,
    log,
    appliers: {
      ...appliers,
      events: async (messages) => {
        const outcomes = await appliers.events(messages);
        // written synchronously: the kill must not race the log line
        writeSync(1, `${messages.map((m) => m.messageId).join(",")}: committed; dying before the ack\n`);
        process.kill(process.pid, "SIGKILL");
        return outcomes;
      },
    },
  },
  {
    prefetch: 1,
    batchSize: 1,
    retryDelaysMs: [50],
    publishTimeoutMs: 2000,
    publishers: { trusted: new Set([brokerUserOf(amqpUrl)]), self: brokerUserOf(amqpUrl) },
  },
);
