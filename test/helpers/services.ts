// Where the tests find PostgreSQL and RabbitMQ on this machine (overridable for other machines).
export const pgAdminUrl = process.env.TEST_PG_URL ?? "postgres://root@127.0.0.1:5432/postgres";
export const amqpBase = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
export const rabbitManagementUrl = process.env.TEST_RABBIT_MANAGEMENT_URL ?? "http://127.0.0.1:15672";
export const testDatabasePrefix = "bft_";
export const testVhostPrefix = "bft_";

/** The URL of a database on the test server. */
export function databaseUrl(name: string): string {
  const url = new URL(pgAdminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
