import { names } from "../../lib/amqp/topology.ts";
import type { BrokerPermissions } from "./broker-roles.ts";

// Whether a broker user's actual permissions reach beyond what its role needs, judged the way
// RabbitMQ judges them (an unanchored regular expression match on the resource's name, and on the
// routing key for topic permissions) over the resources that matter: billing's exchanges and
// queues, the default exchange (it reaches every queue), and another service's queue.

/** The names an audit tries each permission on. */
export interface AuditProbes {
  readonly exchanges: readonly string[];
  readonly queues: readonly string[];
}

/** The fleet's resources (and two that belong to nobody here), for a vhost with these retry delays. */
export function auditProbes(retryDelaysMs: readonly number[]): AuditProbes {
  return {
    exchanges: [names.exchange, names.events, names.dlx, names.retry, "amq.default", "amq.topic"],
    queues: [
      names.queue,
      names.dlq,
      ...retryDelaysMs.slice(0, 1).map((ms) => `${names.queue}.retry.${ms}`),
      "another-service.results",
    ],
  };
}

const families = [
  { key: "stripe.doctor-probe", label: "stripe.*" },
  { key: "command.doctor-probe", label: "command.*" },
  { key: "doctor.probe", label: "other routing keys" },
] as const;

/** One line per kind of excess ("may write to exchange billing.events, …"); empty when none. */
export function excessPermissions(
  actual: BrokerPermissions,
  expected: BrokerPermissions,
  probes: AuditProbes,
): string[] {
  const resources = [
    ...probes.exchanges.map((name) => ({ name, label: `exchange ${name}` })),
    ...probes.queues.map((name) => ({ name, label: `queue ${name}` })),
  ];
  const excess: string[] = [];
  const verbs = { configure: "configure (declare, delete)", write: "write to", read: "read from" } as const;
  for (const kind of ["configure", "write", "read"] as const) {
    const extra = resources.filter((r) => matches(actual[kind], r.name) && !matches(expected[kind], r.name));
    if (extra.length > 0) excess.push(`may ${verbs[kind]} ${extra.map((r) => r.label).join(", ")}`);
  }
  const keys = families.filter(
    (f) => publishes(actual, names.exchange, f.key) && !publishes(expected, names.exchange, f.key),
  );
  if (keys.length > 0) {
    excess.push(`may publish ${keys.map((f) => f.label).join(", ")} to exchange ${names.exchange}`);
  }
  return excess;
}

/** Whether the user may publish to a topic exchange with this routing key. */
function publishes(permissions: BrokerPermissions, exchange: string, routingKey: string): boolean {
  if (!matches(permissions.write, exchange)) return false;
  const topic = permissions.topics.find((t) => t.exchange === exchange);
  // without a topic permission on the exchange RabbitMQ lets every routing key through
  return topic === undefined || matches(topic.write, routingKey);
}

function matches(pattern: string, name: string): boolean {
  // RabbitMQ reads an empty pattern as "nothing"
  if (pattern === "") return false;
  try {
    return new RegExp(pattern).test(name);
  } catch {
    // a pattern this audit cannot read is assumed to allow it: a warning, not a silent pass
    return true;
  }
}
