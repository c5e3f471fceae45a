import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { brokerPermissions, parseRoles } from "../../ops/cli/broker-roles.ts";
import { rabbitmqctl, rabbitmqctlList } from "../../ops/cli/rabbitmqctl.ts";
import { testVhostPrefix } from "../helpers/services.ts";
import { runOps } from "./run-cli.ts";

// billing-ops broker-permissions: the permissions of each process class, printed as the
// rabbitmqctl lines a deployment runs, or applied with rabbitmqctl. What each role may do is
// proven against the broker in test/privilege/; here: the verb's lines, --apply, and its errors.

describe("broker-permissions", () => {
  it("prints the rabbitmqctl lines of a role on AMQP_URL's vhost", async () => {
    const run = await runOps(["broker-permissions", "--user", "billing-web", "--role", "web"], {
      AMQP_URL: "amqp://ops:pw@rabbit:5672/billing",
    });
    expect(run.code, run.err).toBe(0);
    expect(run.out).toBe(
      [
        "rabbitmqctl set_permissions -p billing billing-web '^$' '^(billing)$' '^$'",
        "rabbitmqctl set_topic_permissions -p billing billing-web billing '^(stripe\\..+|command\\..+)$' '^$'",
        "",
      ].join("\n"),
    );
  });

  it("unites several roles, and names a listener's queues after the user unless told", async () => {
    const run = await runOps(
      ["broker-permissions", "--user", "shop", "--role", "client,listener", "--vhost", "/", "--json"],
      { RABBITMQCTL: "docker compose exec -T rabbitmq rabbitmqctl" },
    );
    expect(run.json()).toMatchObject({
      user: "shop",
      roles: ["client", "listener"],
      vhost: "/",
      permissions: {
        configure: "^(shop\\..+|amq\\.gen-.+)$",
        write: "^(billing|shop\\..+|amq\\.gen-.+)$",
        read: "^(shop\\..+|amq\\.gen-.+|billing\\.events)$",
        topics: [{ exchange: "billing", write: "^(command\\..+)$", read: "^$" }],
      },
      commands: [
        expect.stringMatching(/^docker compose exec -T rabbitmq rabbitmqctl set_permissions -p \/ shop /),
        expect.anything(),
      ],
      applied: false,
    });
    const prefixed = await runOps(
      ["broker-permissions", "--user", "shop", "--role", "listener", "--queue-prefix", "orders", "--json"],
      {},
    );
    expect(prefixed.json<{ permissions: { read: string } }>().permissions.read).toBe(
      "^(orders\\..+|amq\\.gen-.+|billing\\.events)$",
    );
  });

  it("gives release, and only release, the right to declare; no role but release publishes unchecked", () => {
    for (const role of ["web", "worker", "relay", "reconciler", "ops", "client"] as const) {
      expect(brokerPermissions([role], "x").configure, role).toBe("^$");
      expect(brokerPermissions([role], "x").topics, role).toHaveLength(1);
    }
    expect(brokerPermissions(["release"], "x").configure).toContain("billing_queue");
    expect(brokerPermissions(["release"], "x").topics).toEqual([]);
    expect(() => parseRoles("web,admin")).toThrow(/unknown role "admin"/);
  });

  it("applies them with rabbitmqctl, replacing what the user had", async () => {
    const user = `${testVhostPrefix}${Date.now()}_${randomBytes(4).toString("hex")}_perm`;
    await rabbitmqctl(["rabbitmqctl"], ["add_user", user, randomBytes(8).toString("hex")]);
    try {
      await rabbitmqctl(["rabbitmqctl"], ["set_permissions", "-p", "/", user, ".*", ".*", ".*"]);
      const run = await runOps(["broker-permissions", "--user", user, "--role", "relay", "--apply"], {
        AMQP_URL: "amqp://guest:guest@127.0.0.1:5672",
      });
      expect(run.code, run.err).toBe(0);
      expect(run.out).toContain(`applied: ${user} on vhost / as relay`);
      const [permissions, topics] = await Promise.all([
        rabbitmqctlList(["rabbitmqctl"], ["list_user_permissions", user]),
        rabbitmqctlList(["rabbitmqctl"], ["list_user_topic_permissions", user]),
      ]);
      expect(permissions).toEqual([
        { vhost: "/", configure: "^$", write: "^(billing\\.events)$", read: "^$" },
      ]);
      expect(topics).toEqual([{ vhost: "/", exchange: "billing", write: "^$", read: "^$" }]);
    } finally {
      await rabbitmqctl(["rabbitmqctl"], ["delete_user", user]).catch(() => undefined);
    }
    // six rabbitmqctl runs, seconds each on a busy machine
  }, 120_000);

  it("exits 2 on a missing or unknown role, 1 with rabbitmqctl's reason when it cannot apply", async () => {
    const missing = await runOps(["broker-permissions", "--user", "u"], {});
    expect([missing.code, missing.err]).toEqual([
      2,
      "billing-ops broker-permissions: needs --role (release, web, worker, relay, reconciler, ops, client, listener)\n",
    ]);
    const unknown = await runOps(["broker-permissions", "--user", "u", "--role", "admin"], {});
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/--role: unknown role "admin"/);
    const noUser = await runOps(
      ["broker-permissions", "--user", `${testVhostPrefix}nobody_${Date.now()}`, "--role", "web", "--apply"],
      {},
    );
    expect(noUser.code).toBe(1);
    expect(noUser.err).toMatch(
      /^billing-ops broker-permissions: rabbitmqctl set_permissions: .*does not exist\n$/,
    );
    const noTool = await runOps(["broker-permissions", "--user", "u", "--role", "web", "--apply"], {
      RABBITMQCTL: "/nonexistent/rabbitmqctl",
    });
    expect(noTool.err).toMatch(/\/nonexistent\/rabbitmqctl not found \(set RABBITMQCTL/);
  });
});
