import { listDeadLetters } from "../../../lib/ops/dead-letter-list.ts";
import { filterHelp, filterOptions, readFilter } from "../dead-letter-filter.ts";
import { withDb } from "../ops-db.ts";
import { integerOption, noPositionals } from "../option-values.ts";
import { formatTable, oneLine, shortTime } from "../text-table.ts";
import type { Verb } from "../verb.ts";

export type { DeadLetterSummary as DlqListItem } from "../../../lib/ops/dead-letter-list.ts";

export const dlqList: Verb = {
  words: ["dlq", "list"],
  summary: "parked dead letters, newest first",
  usage: "dlq list [--type T] [--error TEXT] [--since DURATION] [--limit N]",
  options: { ...filterOptions, limit: { type: "string" } },
  help: [
    filterHelp,
    "  --limit N         at most N letters (default 50, at most 10000)",
    "",
    "`dlq show ID` prints one whole.",
  ].join("\n"),
  async run({ config }, values, positionals) {
    noPositionals(positionals);
    const filter = readFilter(values);
    const limit = integerOption(values, "limit", 50, 1, 10_000);
    const letters = await withDb(config, (db) =>
      listDeadLetters(db, { selection: { kind: "filter", filter } }, limit),
    );
    const lines =
      letters.length === 0
        ? ["no parked dead letters match"]
        : formatTable(
            ["ID", "FAILED AT", "TYPE", "MESSAGE ID", "KIND", "ATTEMPTS", "ERROR"],
            letters.map((l) => [
              String(l.id),
              shortTime(new Date(l.failedAt)),
              l.type ?? "(none)",
              l.messageId ?? "(none)",
              l.errorKind,
              String(l.attempts),
              oneLine(l.error, 70),
            ]),
          );
    return { ok: true, lines, json: { letters } };
  },
};
