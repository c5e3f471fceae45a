import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import type { Running } from "../../lib/lifecycle.ts";
import { startWorker } from "../../workers/worker.ts";
import { type BrokerUser, createBrokerUsers } from "../helpers/broker-users.ts";
import { testConfig, testLogger } from "../helpers/config.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { createLoginRoles, type LoginRole } from "../helpers/login-roles.ts";
import { waitFor } from "../helpers/wait.ts";
import { runOps } from "./run-cli.ts";

// ACCEPTANCE (issue 15): doctor looks at the fleet as it runs and warns when a runtime process
// logs in with more rights than it needs: a superuser (or the schema owner) in PostgreSQL, a broker
// user allowed beyond its role. Warnings do not fail doctor unless --strict.

const services = useTestServices();
let users: Record<"worker", BrokerUser> & { deleteAll(): Promise<void> };
let logins: Record<"worker" | "doctor", LoginRole> & { dropAll(): Promise<void> };

beforeAll(async () => {
  [users, logins] = await Promise.all([
    createBrokerUsers(services.vhost.name, { worker: { roles: ["worker"] } }),
    createLoginRoles({ worker: ["billing_app"], doctor: ["billing_app"] }),
  ]);
  await declareTopologyOnce(services.vhost.url, [50]);
}, 120_000);
afterAll(async () => {
  await Promise.allSettled([users?.deleteAll(), logins?.dropAll()]);
}, 120_000);

async function withWorker(urls: { databaseUrl: string; amqpUrl: string }, use: () => Promise<void>) {
  const worker: Running = await startWorker(
    testConfig("worker", { ...urls, RETRY_DELAYS_MS: "50" }),
    testLogger("worker"),
  );
  try {
    // its queue sampler holds a pooled connection open from the start
    await waitFor(async () => {
      const { rows } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'billing-worker'`.execute(
        services.database.db,
      );
      return (rows[0]?.n ?? 0) > 0;
    }, "the worker's database session");
    await use();
  } finally {
    await worker.stop();
  }
}

// doctor itself runs as a billing_app login: it needs no more either
const doctorEnv = () => ({
  DATABASE_URL: logins.doctor.urlOf(services.database.name),
  AMQP_URL: services.vhost.url,
  RETRY_DELAYS_MS: "50",
});
const line = (out: string, name: string) => out.split("\n").find((l) => l.slice(2).startsWith(`${name}:`));

describe("doctor on the running fleet", () => {
  it("flags a worker that connects to PostgreSQL as a superuser", async () => {
    // the test server's root is a superuser
    await withWorker({ databaseUrl: services.database.url, amqpUrl: users.worker.url }, async () => {
      const run = await runOps(["doctor"], doctorEnv());
      expect(line(run.out, "database")).toMatch(/^✓ database: reachable, migrations current/);
      expect(line(run.out, "database users")).toBe(
        '! database users: worker connects as "root", a superuser (runtime processes should log in as a ' +
          'member of billing_app; RUNBOOK "Least privilege")',
      );
      expect(line(run.out, "broker users")).toBe(
        `✓ broker users: worker as "${users.worker.name}": no more than their roles need`,
      );
      // a warning is not a failure (test/ops/doctor.test.ts: unless --strict)
      expect(run.out).toMatch(/, 1 warning\n$/);
    });
  }, 120_000);

  it("is content with a billing_app login, and flags a broker user that may do anything", async () => {
    await withWorker(
      { databaseUrl: logins.worker.urlOf(services.database.name), amqpUrl: services.vhost.url },
      async () => {
        const run = await runOps(["doctor"], doctorEnv());
        expect(line(run.out, "database users")).toBe(
          `✓ database users: worker as "${logins.worker.name}": neither superuser nor schema owner`,
        );
        expect(line(run.out, "broker users")).toBe(
          '! broker users: worker as "guest" may configure (declare, delete) exchange billing, exchange ' +
            "billing.events, exchange billing.dlx, exchange billing.retry, exchange amq.default, exchange amq.topic, " +
            "queue billing_queue, queue billing_queue.dlq, queue billing_queue.retry.50, queue another-service.results; " +
            "may write to exchange billing, exchange billing.events, exchange amq.default, exchange amq.topic, queue " +
            "billing_queue, queue billing_queue.dlq, queue billing_queue.retry.50, queue another-service.results; " +
            "may read from exchange billing, exchange billing.events, exchange billing.dlx, exchange billing.retry, " +
            "exchange amq.default, exchange amq.topic, queue billing_queue.retry.50, queue another-service.results; " +
            "may publish stripe.*, command.*, other routing keys to exchange billing " +
            "(billing-ops broker-permissions gives each role what it needs)",
        );
      },
    );
  }, 120_000);
});
