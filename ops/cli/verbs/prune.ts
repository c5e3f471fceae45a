import { formatDuration } from "../../../lib/ops/duration.ts";
import { withDb } from "../ops-db.ts";
import { durationOption, flag, integerOption, noPositionals } from "../option-values.ts";
import { countPrunable, minimumRetentionMs, planPrune, pruneBatch, pruneTargets } from "../retention.ts";
import { UsageError, type Verb } from "../verb.ts";

export const prune: Verb = {
  words: ["prune"],
  summary: "retention: delete inbox, audit and published outbox rows older than the window, in batches",
  usage: "prune --older-than DURATION [--batch N] [--dry-run]",
  options: { "older-than": { type: "string" }, batch: { type: "string" }, "dry-run": { type: "boolean" } },
  help: [
    "  --older-than DURATION  the window, at least 3d (e.g. 90d)",
    "  --batch N              rows per delete, each its own short transaction (default 1000)",
    "  --dry-run              count what would be deleted; delete nothing",
    "",
    "Deletes, past the window: processed_messages (the inbox), stripe_events (the audit) and",
    'outbox rows already published. The rule (ops/RUNBOOK.md, "Retention"):',
    "  - never a window under 3 days: Stripe retries a webhook for up to 3 days, and the inbox",
    "    row is what makes a late retry harmless; a shorter --older-than is refused;",
    "  - never the rows of a message that has a parked dead letter;",
    "  - never unpublished outbox rows, never billing.commands (a command row is the command's",
    "    idempotency record: a service may retry the same id at any time), never dead letters.",
    "Keep `reconcile --since` shorter than the window.",
  ].join("\n"),
  async run({ config, signal, progress }, values, positionals) {
    noPositionals(positionals);
    const window = durationOption(values, "older-than");
    if (window === undefined) throw new UsageError("needs --older-than DURATION (e.g. --older-than 90d)");
    if (window < minimumRetentionMs) {
      throw new UsageError(
        `--older-than ${formatDuration(window)} is under 3d: Stripe retries webhooks for up to 3 days and the inbox must remember them`,
      );
    }
    const batch = integerOption(values, "batch", 1000, 1, 100_000);
    const dryRun = flag(values, "dry-run");

    return withDb(config, async (db) => {
      // Decided once, so every batch uses the same cutoff and protects the same rows.
      const plan = await planPrune(db, window);
      const { cutoff } = plan;
      const deleted: Record<string, number> = {};
      let interrupted = false;
      for (const target of pruneTargets) {
        if (dryRun) {
          deleted[target] = await countPrunable(db, target, plan);
          continue;
        }
        let total = 0;
        for (;;) {
          if (signal.aborted) {
            interrupted = true;
            break;
          }
          const n = await pruneBatch(db, target, plan, batch);
          total += n;
          progress(`pruning ${target}: ${total} deleted`);
          if (n < batch) break;
        }
        deleted[target] = total;
        if (interrupted) break;
      }
      const verb = dryRun ? "would delete" : "deleted";
      const lines = [
        `${dryRun ? "dry run: " : ""}rows older than ${formatDuration(window)} (before ${cutoff.toISOString()}):`,
        ...Object.entries(deleted).map(([table, n]) => `  ${table}: ${verb} ${n}`),
        "kept: billing.commands (idempotency records), unpublished outbox rows, dead letters, rows of parked dead letters",
        ...(interrupted ? ["interrupted: what was deleted is committed; run it again to finish"] : []),
      ];
      return {
        ok: !interrupted,
        lines,
        json: {
          dryRun,
          olderThan: formatDuration(window),
          cutoff: cutoff.toISOString(),
          deleted,
          interrupted,
        },
      };
    });
  },
};
