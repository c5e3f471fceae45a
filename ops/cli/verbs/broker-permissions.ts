import { vhostOf } from "../../../lib/amqp/broker-url.ts";
import {
  brokerRoles,
  parseRoles,
  brokerPermissions as permissionsOf,
  rabbitmqctlCommands,
  shellLine,
} from "../broker-roles.ts";
import { flag, noPositionals, stringOption } from "../option-values.ts";
import { rabbitmqctl } from "../rabbitmqctl.ts";
import { UsageError, type Verb } from "../verb.ts";

export const brokerPermissions: Verb = {
  words: ["broker-permissions"],
  summary: "print (or --apply) the RabbitMQ permissions of one process class for a broker user",
  usage: `broker-permissions --user NAME --role ${brokerRoles.join("|")}[,ROLE…] [--vhost V] [--queue-prefix P] [--apply]`,
  options: {
    user: { type: "string" },
    role: { type: "string" },
    vhost: { type: "string" },
    "queue-prefix": { type: "string" },
    apply: { type: "boolean" },
  },
  help: [
    "  --user NAME          the broker user (create it first: rabbitmqctl add_user NAME PASSWORD)",
    "  --role ROLE[,ROLE]   what it runs; a service that sends commands and reads results: client,listener",
    "                       release: declares the topology (configure); web: publishes stripe.* and",
    "                       command.* to billing; reconciler: stripe.* only; ops: dlq replay (both);",
    "                       client: command.* only; worker: reads billing_queue and the DLQ, writes",
    "                       billing.retry and billing.dlx; relay: writes billing.events; listener:",
    "                       its own queues (<prefix>.… and server-named), bound to billing.events",
    "  --vhost V            default: the vhost of AMQP_URL",
    "  --queue-prefix P     a listener's own queues are named P.… (default: the user name)",
    "  --apply              run the lines with rabbitmqctl (RABBITMQCTL) instead of printing them",
    "",
    "Prints `rabbitmqctl set_permissions` (configure, write, read) and `set_topic_permissions` for",
    "exchange billing (routing keys); both replace what the user had on the vhost.",
  ].join("\n"),
  async run({ config }, values, positionals) {
    noPositionals(positionals);
    const user = stringOption(values, "user");
    const roleText = stringOption(values, "role");
    if (user === undefined || user.trim() === "") throw new UsageError("needs --user NAME");
    if (roleText === undefined) throw new UsageError(`needs --role (${brokerRoles.join(", ")})`);
    let roles: ReturnType<typeof parseRoles>;
    try {
      roles = parseRoles(roleText);
    } catch (error) {
      throw new UsageError(`--role: ${(error as Error).message}`);
    }
    const vhost = stringOption(values, "vhost") ?? vhostOf(config.amqpUrl);
    const prefix = stringOption(values, "queue-prefix") ?? user;
    const permissions = permissionsOf(roles, prefix);
    const commands = rabbitmqctlCommands(user, vhost, permissions);
    const lines = commands.map((args) => shellLine(config.rabbitmqctl, args));
    const json = { user, roles, vhost, permissions, commands: lines, applied: false };
    if (!flag(values, "apply")) return { ok: true, lines, json };
    for (const args of commands) await rabbitmqctl(config.rabbitmqctl, args);
    return {
      ok: true,
      lines: [...lines, `applied: ${user} on vhost ${vhost} as ${roles.join(" + ")}`],
      json: { ...json, applied: true },
    };
  },
};
