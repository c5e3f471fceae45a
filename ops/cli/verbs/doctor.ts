import { checkBroker, checkDatabase, checkIngester, checkReconciler, checkStripe } from "../doctor-checks.ts";
import { opsLogger } from "../ops-logger.ts";
import { flag, noPositionals } from "../option-values.ts";
import { checkBrokerUsers, checkDatabaseUsers } from "../privilege-checks.ts";
import type { Verb } from "../verb.ts";

export const doctor: Verb = {
  words: ["doctor"],
  summary:
    "post-deploy check: database and migrations, broker and topology, Stripe API, ingester /readyz, and the users the fleet runs as",
  usage: "doctor [--strict]",
  options: { strict: { type: "boolean" } },
  help: [
    "One line per check, ✓ or ✗ with the reason; exit 1 if any fails. Run it with the fleet's",
    "environment: DATABASE_URL, AMQP_URL, RETRY_DELAYS_MS (names the retry queues),",
    "STRIPE_SECRET_KEY (and STRIPE_API_URL), INGESTER_URL (the ingester's base URL).",
    "",
    "Least privilege (lines with ! are warnings): the runtime processes connected right now, found",
    "by their connection names, must not log in to PostgreSQL as a superuser or the schema owner,",
    "and their broker users must not be able to do more than their role needs (read with",
    'rabbitmqctl: set RABBITMQCTL to how it runs here, e.g. "docker compose exec -T rabbitmq rabbitmqctl").',
    "  --strict   warnings fail too (exit 1)",
  ].join("\n"),
  async run({ config }, values, positionals) {
    noPositionals(positionals);
    const strict = flag(values, "strict");
    const checks = await Promise.all([
      checkDatabase(config),
      checkBroker(config),
      checkStripe(config, opsLogger(config)),
      checkIngester(config),
      checkReconciler(config),
      checkDatabaseUsers(config),
      checkBrokerUsers(config),
    ]);
    const failed = checks.filter((c) => !c.ok).length;
    const warned = checks.filter((c) => c.ok && c.warning === true).length;
    const ok = failed === 0 && (!strict || warned === 0);
    const warnings = warned === 0 ? "" : `, ${warned} warning${warned === 1 ? "" : "s"}`;
    const lines = [
      ...checks.map((c) => `${!c.ok ? "✗" : c.warning ? "!" : "✓"} ${c.name}: ${c.detail}`),
      failed === 0
        ? `all checks passed${warnings}`
        : `${failed} of ${checks.length} checks failed${warnings}`,
    ];
    return { ok, lines, json: { ok, checks } };
  },
};
