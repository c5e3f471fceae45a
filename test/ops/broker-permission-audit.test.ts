import { describe, expect, it } from "vitest";
import { auditProbes, excessPermissions } from "../../ops/cli/broker-permission-audit.ts";
import { brokerPermissions, brokerRoles } from "../../ops/cli/broker-roles.ts";

// doctor's judgement of a broker user: what its permissions allow beyond its role, read as
// RabbitMQ reads them (unanchored patterns, "" = nothing, no topic permission = every key).

const probes = auditProbes([5000]);

describe("excessPermissions", () => {
  it("finds nothing in exactly what broker-permissions grants, for every role", () => {
    for (const role of brokerRoles) {
      const granted = brokerPermissions([role], "shop");
      expect(excessPermissions(granted, granted, probes), role).toEqual([]);
    }
  });

  it("finds nothing in a user with no access to the vhost", () => {
    const nothing = { configure: "", write: "", read: "", topics: [] };
    expect(excessPermissions(nothing, brokerPermissions(["web"], "u"), probes)).toEqual([]);
  });

  it("reads patterns unanchored, as RabbitMQ does", () => {
    const sloppy = { ...brokerPermissions(["relay"], "u"), write: "billing" };
    expect(excessPermissions(sloppy, brokerPermissions(["relay"], "u"), probes)).toEqual([
      "may write to exchange billing, exchange billing.dlx, exchange billing.retry, queue billing_queue, " +
        "queue billing_queue.dlq, queue billing_queue.retry.5000",
    ]);
  });

  it("flags a publisher of billing without a topic permission: every routing key gets through", () => {
    const client = brokerPermissions(["client"], "u");
    expect(excessPermissions({ ...client, topics: [] }, client, probes)).toEqual([
      "may publish stripe.*, other routing keys to exchange billing",
    ]);
  });

  it("counts a pattern it cannot read as allowing", () => {
    const worker = brokerPermissions(["worker"], "u");
    expect(excessPermissions({ ...worker, configure: "(" }, worker, probes)[0]).toMatch(
      /^may configure \(declare, delete\) exchange billing,/,
    );
  });
});
