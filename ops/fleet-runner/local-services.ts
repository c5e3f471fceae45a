import amqplib from "amqplib";
import pg from "pg";
import { amqpCandidates, maskPassword, postgresCandidates, withDatabase } from "./service-urls.ts";

/** The servers found: a Postgres URL (any database) and an AMQP URL, each with working credentials. */
export interface LocalServices {
  readonly postgresUrl: string;
  readonly amqpUrl: string;
}

/** A service that answered none of the candidate URLs: the message says how to start it. */
export class ServiceUnreachable extends Error {
  override name = "ServiceUnreachable";
}

const connectTimeoutMs = 3000;

/** Finds PostgreSQL and RabbitMQ (see service-urls.ts); throws ServiceUnreachable with a how-to. */
export async function findLocalServices(
  env: Readonly<Record<string, string | undefined>>,
): Promise<LocalServices> {
  const [postgres, amqp] = await Promise.allSettled([
    firstWorking(postgresCandidates(env), probePostgres),
    firstWorking(amqpCandidates(env), probeAmqp),
  ]);
  const problems: string[] = [];
  if (postgres.status === "rejected") {
    problems.push(
      `PostgreSQL is not reachable (${reason(postgres.reason)}).\n` +
        "  Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start   (Debian)\n" +
        "  or:       docker compose up -d postgres rabbitmq\n" +
        "  or set DATABASE_URL=postgres://user:password@host:5432/billing",
    );
  }
  if (amqp.status === "rejected") {
    problems.push(
      `RabbitMQ is not reachable (${reason(amqp.reason)}).\n` +
        "  Start it: rabbitmq-server -detached   (Debian)\n" +
        "  or:       docker compose up -d postgres rabbitmq\n" +
        "  or set AMQP_URL=amqp://user:password@host:5672",
    );
  }
  if (postgres.status === "rejected" || amqp.status === "rejected") {
    throw new ServiceUnreachable(problems.join("\n"));
  }
  return { postgresUrl: postgres.value, amqpUrl: amqp.value };
}

async function firstWorking(candidates: string[], probe: (url: string) => Promise<void>): Promise<string> {
  const failures: string[] = [];
  for (const url of candidates) {
    try {
      await probe(url);
      return url;
    } catch (error) {
      failures.push(`${maskPassword(url)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`tried ${failures.join("; ")}`);
}

// The maintenance database exists on every server; the billing one may not yet.
async function probePostgres(url: string): Promise<void> {
  const client = new pg.Client({
    connectionString: withDatabase(url, "postgres"),
    connectionTimeoutMillis: connectTimeoutMs,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function probeAmqp(url: string): Promise<void> {
  const connection = await amqplib.connect(url, { timeout: connectTimeoutMs });
  connection.on("error", () => {});
  await connection.close();
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
