import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { parse } from "yaml";

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
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/.+@postgres:5432\/billing$/);
    expect(env.AMQP_URL).toMatch(/^amqp:\/\/.+@rabbitmq:5672/);
  }
  expect(compose.services.web?.environment?.STRIPE_WEBHOOK_SECRET).toBeDefined();
  expect(compose.services.worker?.environment?.STRIPE_SECRET_KEY).toBeDefined();
  expect(compose.services.reconciler?.environment?.STRIPE_SECRET_KEY).toBeDefined();
  expect(compose.services.console?.environment?.CONSOLE_USERS).toMatch(/^[^:,]+:.{16,}$/);
  const rabbit = compose.services.rabbitmq?.environment ?? {};
  expect(compose.services.web?.environment?.AMQP_URL).toContain(
    `${rabbit.RABBITMQ_DEFAULT_USER}:${rabbit.RABBITMQ_DEFAULT_PASS}@`,
  );
});
