import { groupDeadLetters } from "../../../lib/ops/dead-letter-groups.ts";
import { withDb } from "../ops-db.ts";
import { noPositionals } from "../option-values.ts";
import { formatTable, oneLine, shortTime } from "../text-table.ts";
import type { Verb } from "../verb.ts";

export type { DeadLetterGroup as DlqGroup } from "../../../lib/ops/dead-letter-groups.ts";

export const dlqStats: Verb = {
  words: ["dlq", "stats"],
  summary: "parked dead letters grouped by type and error: count, first and last failure",
  usage: "dlq stats",
  options: {},
  help: [
    "Groups every parked dead letter by message type and error text, largest group first. A group",
    "is usually one cause: fix it, then `dlq replay --type T --error TEXT` replays the whole group.",
  ].join("\n"),
  async run({ config }, _values, positionals) {
    noPositionals(positionals);
    const groups = await withDb(config, (db) => groupDeadLetters(db));
    const total = groups.reduce((sum, g) => sum + g.count, 0);
    const lines =
      total === 0
        ? ["no parked dead letters"]
        : [
            `${total} parked dead letter${total === 1 ? "" : "s"} in ${groups.length} group${groups.length === 1 ? "" : "s"}`,
            "",
            ...formatTable(
              ["COUNT", "FIRST FAILED", "LAST FAILED", "TYPE", "KIND", "ERROR"],
              groups.map((g) => [
                String(g.count),
                shortTime(new Date(g.firstFailedAt)),
                shortTime(new Date(g.lastFailedAt)),
                g.type ?? "(none)",
                g.errorKind,
                oneLine(g.error, 80),
              ]),
            ),
          ];
    return { ok: true, lines, json: { total, groups } };
  },
};
