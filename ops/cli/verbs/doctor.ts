import { checkBroker, checkDatabase, checkIngester, checkReconciler, checkStripe } from "../doctor-checks.ts";
import { opsLogger } from "../ops-logger.ts";
import { noPositionals } from "../option-values.ts";
import type { Verb } from "../verb.ts";

export const doctor: Verb = {
  words: ["doctor"],
  summary:
    "post-deploy check: database and migrations, broker and topology, Stripe API, ingester /readyz, reconciler cursor",
  usage: "doctor",
  options: {},
  help: [
    "One line per check, ✓ or ✗ with the reason; exit 1 if any fails. Run it with the fleet's",
    "environment: DATABASE_URL, AMQP_URL, RETRY_DELAYS_MS (names the retry queues),",
    "STRIPE_SECRET_KEY (and STRIPE_API_URL), INGESTER_URL (the ingester's base URL),",
    "RECONCILE_INTERVAL_S (the reconciler line fails when no pass succeeded for 3 intervals).",
  ].join("\n"),
  async run({ config }, _values, positionals) {
    noPositionals(positionals);
    const checks = await Promise.all([
      checkDatabase(config),
      checkBroker(config),
      checkStripe(config, opsLogger(config)),
      checkIngester(config),
      checkReconciler(config),
    ]);
    const failed = checks.filter((c) => !c.ok).length;
    const lines = [
      ...checks.map((c) => `${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}`),
      failed === 0 ? "all checks passed" : `${failed} of ${checks.length} checks failed`,
    ];
    return { ok: failed === 0, lines, json: { ok: failed === 0, checks } };
  },
};
