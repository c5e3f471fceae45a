import { describe, expect, it } from "vitest";
import {
  amqpCandidates,
  managementOf,
  maskPassword,
  postgresCandidates,
  vhostOf,
  withDatabase,
  withVhost,
} from "../../ops/fleet-runner/service-urls.ts";

describe("service URLs", () => {
  // A set DATABASE_URL / AMQP_URL is respected: it is the only candidate.
  it("uses only the Contract's variables when they are set", () => {
    expect(postgresCandidates({ DATABASE_URL: "postgres://u:p@db:5432/x" })).toEqual([
      "postgres://u:p@db:5432/x",
    ]);
    expect(amqpCandidates({ AMQP_URL: "amqp://u:p@mq:5672/v" })).toEqual(["amqp://u:p@mq:5672/v"]);
  });

  // Unset: the Contract's default first, then this machine's and docker compose's credentials.
  it("falls back to the Contract's defaults, then root and billing:billing", () => {
    expect(postgresCandidates({})).toEqual([
      "postgres://localhost:5432/billing",
      "postgres://root@localhost:5432/billing",
      "postgres://billing:billing@localhost:5432/billing",
    ]);
    expect(amqpCandidates({ AMQP_URL: " " })[0]).toBe("amqp://guest:guest@localhost:5672");
  });

  // The demo never touches the billing database or vhost: it swaps in its own names.
  it("replaces the database and the vhost", () => {
    expect(withDatabase("postgres://u:p@h:5432/billing?sslmode=disable", "billing_demo")).toBe(
      "postgres://u:p@h:5432/billing_demo?sslmode=disable",
    );
    expect(withVhost("amqp://g:g@h:5672", "billing_demo")).toBe("amqp://g:g@h:5672/billing_demo");
    expect(withVhost("amqp://g:g@h:5672/old", "/")).toBe("amqp://g:g@h:5672");
    expect(vhostOf("amqp://g:g@h:5672")).toBe("/");
    expect(vhostOf("amqp://g:g@h:5672/a%2Fb")).toBe("a/b");
  });

  it("derives the management API and masks passwords", () => {
    const management = managementOf("amqp://billing:secret@mq:5672/v");
    expect(management.baseUrl).toBe("http://mq:15672/api");
    expect(management.user).toBe("billing");
    expect(Buffer.from(management.authorization.slice(6), "base64").toString()).toBe("billing:secret");
    expect(maskPassword("amqp://billing:secret@mq:5672")).not.toContain("secret");
  });
});
