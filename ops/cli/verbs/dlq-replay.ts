import { replayLetters } from "../../../lib/ops/dead-letter-replay.ts";
import { type Candidate, noSuchLetter, planLetters, type Skipped } from "../../../lib/ops/letter-plan.ts";
import { isNarrowed, type LetterSelection } from "../../../lib/ops/letter-selection.ts";
import { filterHelp, filterOptions, readFilter } from "../dead-letter-filter.ts";
import { operatorName } from "../operator-name.ts";
import { withDb } from "../ops-db.ts";
import { flag, idsOption, noPositionals, stringOption } from "../option-values.ts";
import { formatTable, oneLine, shortTime } from "../text-table.ts";
import { UsageError, type Verb } from "../verb.ts";

export const dlqReplay: Verb = {
  words: ["dlq", "replay"],
  summary: "republish parked dead letters to `billing` (confirmed), then mark them replayed",
  usage:
    "dlq replay (--id ID… | --type T | --error TEXT | --all) [--since DURATION] [--dry-run] [--by NAME] [--reason TEXT]",
  options: {
    id: { type: "string", multiple: true },
    ...filterOptions,
    all: { type: "boolean" },
    "dry-run": { type: "boolean" },
    by: { type: "string" },
    reason: { type: "string" },
  },
  help: [
    "Choose the letters with --id (repeat it, or give a comma list), with filters, or with --all:",
    "  --id ID           these dead letters (only parked ones are replayed)",
    filterHelp,
    "  --all             every parked dead letter",
    "  --dry-run         list what would be replayed; publish and change nothing",
    "  --by NAME         recorded as replayed_by and in the audit (default: the OS user)",
    "  --reason TEXT     why, recorded in the audit (the console's /audit shows it)",
    "",
    "Each message goes to exchange `billing` with its original routing key, properties and body",
    "bytes; the failure headers (x-error, x-error-kind, x-attempts, x-failed-at, x-routing-key) are",
    "removed, x-replayed-from=<id> is added and the timestamp is the replay time. user_id is",
    "AMQP_URL's user (RabbitMQ refuses another) and x-original-user-id keeps the first publisher:",
    "a Stripe event applies only if both are in the workers' STRIPE_EVENT_PUBLISHERS. Only after the",
    "broker confirms is the letter marked replayed. Oldest first. Ctrl-C stops between messages:",
    "what was confirmed is marked, the rest stay parked. Replaying a message twice is harmless:",
    "the inbox absorbs the second copy.",
  ].join("\n"),
  async run(context, values, positionals) {
    noPositionals(positionals);
    const ids = idsOption(values);
    const filter = readFilter(values);
    const all = flag(values, "all");
    const modes = [ids.length > 0, isNarrowed(filter), all].filter(Boolean).length;
    if (modes !== 1) {
      throw new UsageError(
        "choose what to replay: --id ID…, or --type/--error/--since filters, or --all (one of them)",
      );
    }
    const by = stringOption(values, "by") ?? operatorName();
    if (by.trim() === "") throw new UsageError("--by must name someone");
    const selection: LetterSelection =
      ids.length > 0 ? { kind: "ids", ids } : all ? { kind: "all" } : { kind: "filter", filter };

    return withDb(context.config, async (db) => {
      if (flag(values, "dry-run")) {
        const plan = await planLetters(db, { selection });
        const unknown = plan.notParked.some((s) => s.reason === noSuchLetter);
        return dryRunResult(plan.candidates, plan.notParked, !unknown);
      }
      const outcome = await replayLetters(
        {
          db,
          amqpUrl: context.config.amqpUrl,
          amqpUser: context.config.amqpUser,
          confirmTimeoutMs: context.config.publishTimeoutMs,
        },
        { selection },
        {
          actor: { name: by, via: "cli" },
          reason: stringOption(values, "reason"),
          signal: context.signal,
          progress: (done, of, replayed) =>
            context.progress(`replaying: ${done}/${of} (${replayed} replayed)`),
        },
      );
      const { replayed, skipped, failed, interrupted, leftParked: left } = outcome;
      const unknown = skipped.some((s) => s.reason === noSuchLetter);
      const lines = [
        `replayed ${replayed.length} of ${outcome.candidates} dead letter${outcome.candidates === 1 ? "" : "s"} (by ${by})`,
        ...(replayed.length > 0 ? [`replayed ids: ${replayed.join(", ")}`] : []),
        ...skipped.map((s) => `skipped ${s.id}: ${s.reason}`),
        ...(failed === undefined ? [] : [`stopped at ${failed.id}: ${failed.error}; ${left} left parked`]),
        ...(interrupted ? [`interrupted: ${left} left parked, none half-done`] : []),
      ];
      return {
        ok: failed === undefined && !interrupted && !unknown,
        lines,
        json: { dryRun: false, by, replayed, skipped, failed: failed ?? null, interrupted, leftParked: left },
      };
    });
  },
};

function dryRunResult(candidates: readonly Candidate[], skipped: readonly Skipped[], ok: boolean) {
  const lines = [
    `dry run: would replay ${candidates.length} dead letter${candidates.length === 1 ? "" : "s"} (nothing published, nothing changed)`,
    ...(candidates.length === 0
      ? []
      : [
          "",
          ...formatTable(
            ["ID", "FAILED AT", "ROUTING KEY", "MESSAGE ID", "ERROR"],
            candidates.map((c) => [
              String(c.id),
              shortTime(c.failedAt),
              c.routingKey,
              c.messageId ?? "(none)",
              oneLine(c.error, 60),
            ]),
          ),
        ]),
    ...skipped.map((s) => `skipped ${s.id}: ${s.reason}`),
  ];
  return {
    ok,
    lines,
    json: {
      dryRun: true,
      wouldReplay: candidates.map((c) => ({
        id: c.id,
        routingKey: c.routingKey,
        messageId: c.messageId,
        type: c.type,
      })),
      skipped,
    },
  };
}
