import { names } from "../../lib/amqp/topology.ts";

// What each process class may do on RabbitMQ, as RabbitMQ permissions: three regular expressions
// per user and vhost (configure: declare/delete; write: publish, bind a queue; read: consume, bind
// from an exchange) and, per topic exchange, a pattern for the routing keys it may publish with.
// `billing-ops broker-permissions` prints or applies them; `billing-ops doctor` compares the
// fleet's users against them. Only `release` configures: the others check the topology passively.
// A user with several roles (a service that sends commands and listens to results) gets the union.

export const brokerRoles = [
  "release",
  "web",
  "worker",
  "relay",
  "reconciler",
  "ops",
  "client",
  "listener",
] as const;
export type BrokerRole = (typeof brokerRoles)[number];

/** What one role needs: alternatives of regular expressions (unanchored bodies), per permission. */
interface Needs {
  readonly configure: readonly string[];
  readonly write: readonly string[];
  readonly read: readonly string[];
  /** Routing keys it may publish to `billing` with; "any" sets no topic permission. */
  readonly billingKeys: readonly string[] | "any";
}

/** The permissions of one user on one vhost, as rabbitmqctl takes them. */
export interface BrokerPermissions {
  readonly configure: string;
  readonly write: string;
  readonly read: string;
  /** Topic permissions (routing keys) per topic exchange. */
  readonly topics: readonly TopicPermission[];
}

export interface TopicPermission {
  readonly exchange: string;
  readonly write: string;
  readonly read: string;
}

const regexEscape = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const exchange = regexEscape(names.exchange);
const events = regexEscape(names.events);
const dlx = regexEscape(names.dlx);
const retry = regexEscape(names.retry);
const queue = regexEscape(names.queue);
const dlq = regexEscape(names.dlq);
const everything = [
  `${exchange}|${events}|${dlx}|${retry}`,
  `${queue}|${dlq}|${queue}\\.retry\\.[0-9]+`,
] as const;
const stripeKeys = "stripe\\..+";
const commandKeys = "command\\..+";

function needs(role: BrokerRole, queuePrefix: string): Needs {
  const own = [`${regexEscape(queuePrefix)}\\..+`, "amq\\.gen-.+"];
  switch (role) {
    case "release":
      // declares everything and binds (write on the queue, read on the exchange)
      return { configure: everything, write: everything, read: everything, billingKeys: "any" };
    case "web":
      return { configure: [], write: [exchange], read: [], billingKeys: [stripeKeys, commandKeys] };
    case "reconciler":
      return { configure: [], write: [exchange], read: [], billingKeys: [stripeKeys] };
    case "ops":
      // dlq replay republishes both kinds to billing
      return { configure: [], write: [exchange], read: [], billingKeys: [stripeKeys, commandKeys] };
    case "client":
      return { configure: [], write: [exchange], read: [], billingKeys: [commandKeys] };
    case "worker":
      // retry copies through billing.retry, dead letters through billing.dlx; consumes the queue and the DLQ
      return { configure: [], write: [retry, dlx], read: [`${queue}|${dlq}`], billingKeys: [] };
    case "relay":
      return { configure: [], write: [events], read: [], billingKeys: [] };
    case "listener":
      // its own queues (named `<prefix>.…`, or server-named exclusive ones), bound to billing.events
      return { configure: own, write: own, read: [...own, events], billingKeys: [] };
  }
}

/** The permissions a user with these roles needs; `queuePrefix` names a listener's own queues. */
export function brokerPermissions(roles: readonly BrokerRole[], queuePrefix: string): BrokerPermissions {
  const all = roles.map((role) => needs(role, queuePrefix));
  const union = (pick: (n: Needs) => readonly string[]) => pattern([...new Set(all.flatMap(pick))]);
  const anyKey = all.some((n) => n.billingKeys === "any");
  const keys = [...new Set(all.flatMap((n) => (n.billingKeys === "any" ? [] : n.billingKeys)))];
  return {
    configure: union((n) => n.configure),
    write: union((n) => n.write),
    read: union((n) => n.read),
    topics: anyKey ? [] : [{ exchange: names.exchange, write: pattern(keys), read: "^$" }],
  };
}

/** Parses `web` or `client,listener` into roles; throws naming the first unknown one. */
export function parseRoles(text: string): BrokerRole[] {
  const roles = text.split(",").map((r) => r.trim());
  for (const role of roles) {
    if (!(brokerRoles as readonly string[]).includes(role)) {
      throw new Error(`unknown role "${role}" (one or more of ${brokerRoles.join(", ")}, comma-separated)`);
    }
  }
  return [...new Set(roles as BrokerRole[])];
}

/** The rabbitmqctl argument lists that give `user` exactly these permissions on `vhost`. */
export function rabbitmqctlCommands(user: string, vhost: string, permissions: BrokerPermissions): string[][] {
  return [
    ["set_permissions", "-p", vhost, user, permissions.configure, permissions.write, permissions.read],
    ...permissions.topics.map((t) => [
      "set_topic_permissions",
      "-p",
      vhost,
      user,
      t.exchange,
      t.write,
      t.read,
    ]),
  ];
}

/** A command as a shell line; an argument with anything but plain characters is single-quoted. */
export function shellLine(program: readonly string[], args: readonly string[]): string {
  const quote = (a: string) => (/^[\w./:=-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`);
  return [...program, ...args.map(quote)].join(" ");
}

function pattern(alternatives: readonly string[]): string {
  if (alternatives.length === 0) return "^$";
  return alternatives.length === 1 ? `^(${alternatives[0]})$` : `^(${alternatives.join("|")})$`;
}
