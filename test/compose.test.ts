import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { parse } from "yaml";
import { brokerUserOf, vhostOf } from "../lib/amqp/broker-url.ts";
import { matchesPasswordHash } from "../ops/cli/broker-definitions.ts";
import { type BrokerRole, brokerPermissions } from "../ops/cli/broker-roles.ts";

// There is no Docker engine here: check the wiring of docker-compose.yml by reading it.
interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  healthcheck?: { test: string[] };
  restart?: string;
  volumes?: string[];
}

const compose = parse(readFileSync(new URL("../docker-compose.yml", import.meta.url), "utf8"), {
  merge: true,
}) as {
  services: Record<string, Service>;
};
const procfile = Object.fromEntries(
  readFileSync(new URL("../Procfile", import.meta.url), "utf8")
    .trim()
    .split("\n")
    .map((line) => line.split(/:\s+/, 2) as [string, string]),
);

it("runs the brokers with health checks", () => {
  const { rabbitmq, postgres } = compose.services;
  expect(rabbitmq?.image).toMatch(/^rabbitmq:3\.13-management/);
  expect(postgres?.image).toMatch(/^postgres:16/);
  expect(rabbitmq?.healthcheck?.test.join(" ")).toContain("rabbitmq-diagnostics");
  expect(postgres?.healthcheck?.test.join(" ")).toContain("pg_isready");
});

it("runs release once after healthy brokers, and the processes after release", () => {
  const { release, web, worker, relay, reconciler, console: opsConsole } = compose.services;
  expect(release?.depends_on).toEqual({
    postgres: { condition: "service_healthy" },
    rabbitmq: { condition: "service_healthy" },
  });
  expect(release?.restart).toBe("no");
  for (const service of [web, worker, relay, reconciler, opsConsole]) {
    expect(service?.depends_on?.release?.condition).toBe("service_completed_successfully");
  }
  expect(worker?.deploy?.replicas).toBe(2);
});

it("runs each process with the Procfile's command and the environment it needs", () => {
  for (const name of ["release", "web", "worker", "relay", "reconciler", "console"]) {
    const service = compose.services[name];
    expect(service?.command?.join(" "), name).toBe(procfile[name]);
    const env = service?.environment ?? {};
    // web needs no database, so it is given none
    if (name === "web") expect(env.DATABASE_URL).toBeUndefined();
    else expect(env.DATABASE_URL).toMatch(/^postgres:\/\/.+@postgres:5432\/billing$/);
    expect(env.AMQP_URL).toMatch(/^amqp:\/\/.+@rabbitmq:5672/);
  }
  expect(compose.services.web?.environment?.STRIPE_WEBHOOK_SECRET).toBeDefined();
  expect(compose.services.worker?.environment?.STRIPE_SECRET_KEY).toBeDefined();
  expect(compose.services.reconciler?.environment?.STRIPE_SECRET_KEY).toBeDefined();
  expect(compose.services.console?.environment?.CONSOLE_USERS).toMatch(/^[^:,]+:.{16,}$/);
});

// Least privilege (issue 15): every process logs in as its own user, the runtime's PostgreSQL
// users are billing_app members (not the owner), and each broker user exists with its password
// and exactly the permissions `billing-ops broker-permissions` gives its role.
const definitions = JSON.parse(
  readFileSync(new URL("../ops/docker/rabbitmq-definitions.json", import.meta.url), "utf8"),
) as {
  users: { name: string; password_hash: string; hashing_algorithm: string; tags: string[] }[];
  permissions: { user: string; vhost: string; configure: string; write: string; read: string }[];
  topic_permissions: { user: string; vhost: string; exchange: string; write: string; read: string }[];
};
const roleSql = readFileSync(new URL("../ops/docker/postgres-roles.sql", import.meta.url), "utf8");
const env = (name: string) => compose.services[name]?.environment ?? {};

it("gives every process its own broker user, with its role's permissions and no more", () => {
  const roles: Record<string, BrokerRole> = {
    release: "release",
    web: "web",
    worker: "worker",
    relay: "relay",
    reconciler: "reconciler",
    console: "ops",
  };
  const users = Object.keys(roles).map((name) => brokerUserOf(env(name).AMQP_URL ?? ""));
  expect(new Set(users).size).toBe(users.length);
  expect(compose.services.rabbitmq?.environment?.RABBITMQ_DEFAULT_USER).toBeUndefined();
  expect(compose.services.rabbitmq?.volumes).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/ops\/docker\/rabbitmq\.conf:\/etc\/rabbitmq\/conf\.d\/[\w-]+\.conf:ro$/),
      "./ops/docker/rabbitmq-definitions.json:/etc/rabbitmq/definitions.json:ro",
    ]),
  );
  expect(readFileSync(new URL("../ops/docker/rabbitmq.conf", import.meta.url), "utf8")).toMatch(
    /^load_definitions = \/etc\/rabbitmq\/definitions\.json$/m,
  );
  for (const [name, role] of Object.entries(roles)) {
    const url = new URL(env(name).AMQP_URL ?? "");
    const user = brokerUserOf(url.toString());
    const vhost = vhostOf(url.toString());
    const defined = definitions.users.find((u) => u.name === user);
    expect(defined?.hashing_algorithm, name).toBe("rabbit_password_hashing_sha256");
    expect(matchesPasswordHash(defined?.password_hash ?? "", decodeURIComponent(url.password)), name).toBe(
      true,
    );
    expect(defined?.tags, name).toEqual(role === "release" ? ["administrator"] : []);
    const expected = brokerPermissions([role], user);
    const { configure, write, read } = expected;
    expect(
      definitions.permissions.filter((p) => p.user === user),
      name,
    ).toEqual([{ user, vhost, configure, write, read }]);
    expect(
      definitions.topic_permissions.filter((p) => p.user === user),
      name,
    ).toEqual(expected.topics.map((t) => ({ user, vhost, ...t })));
  }
  // the worker applies Stripe events only from the ingester (and ops' replays)
  expect(env("worker").STRIPE_EVENT_PUBLISHERS?.split(",")).toEqual(
    expect.arrayContaining([
      brokerUserOf(env("web").AMQP_URL ?? ""),
      brokerUserOf(env("reconciler").AMQP_URL ?? ""),
    ]),
  );
});

it("runs worker, relay, reconciler and console as their own billing_app logins; release as the owner", () => {
  const postgres = compose.services.postgres?.environment ?? {};
  expect(new URL(env("release").DATABASE_URL ?? "").username).toBe(postgres.POSTGRES_USER);
  expect(compose.services.postgres?.volumes).toContain(
    "./ops/docker/postgres-roles.sql:/docker-entrypoint-initdb.d/10-billing-roles.sql:ro",
  );
  const logins = ["worker", "relay", "reconciler", "console"].map(
    (name) => new URL(env(name).DATABASE_URL ?? ""),
  );
  expect(new Set(logins.map((u) => u.username)).size).toBe(4);
  for (const url of logins) {
    expect(url.username).not.toBe(postgres.POSTGRES_USER);
    expect(roleSql).toContain(
      `CREATE ROLE ${url.username} LOGIN PASSWORD '${decodeURIComponent(url.password)}' IN ROLE billing_app;`,
    );
  }
});
