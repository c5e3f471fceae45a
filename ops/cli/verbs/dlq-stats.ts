import { sql } from "kysely";
import { withDb } from "../ops-db.ts";
import { noPositionals } from "../option-values.ts";
import { formatTable, oneLine, shortTime } from "../text-table.ts";
import type { Verb } from "../verb.ts";

/** One group of parked dead letters: same type, same error. */
export interface DlqGroup {
  type: string | null;
  errorKind: string;
  error: string;
  count: number;
  firstFailedAt: string;
  lastFailedAt: string;
}

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
    const rows = await withDb(config, (db) =>
      db
        .selectFrom("dead_letters")
        .where("status", "=", "parked")
        .select((eb) => [
          "type",
          "error_kind",
          "error",
          eb.fn.countAll<number>().as("count"),
          eb.fn.min("failed_at").as("first"),
          eb.fn.max("failed_at").as("last"),
        ])
        .groupBy(["type", "error_kind", "error"])
        .orderBy(sql`count(*)`, "desc")
        .orderBy(sql`max(failed_at)`, "desc")
        .execute(),
    );
    const groups: DlqGroup[] = rows.map((r) => ({
      type: r.type,
      errorKind: r.error_kind,
      error: r.error,
      count: Number(r.count),
      firstFailedAt: r.first.toISOString(),
      lastFailedAt: r.last.toISOString(),
    }));
    const total = groups.reduce((sum, g) => sum + g.count, 0);
    const lines =
      total === 0
        ? ["no parked dead letters"]
        : [
            `${total} parked dead letter${total === 1 ? "" : "s"} in ${groups.length} group${groups.length === 1 ? "" : "s"}`,
            "",
            ...formatTable(
              ["COUNT", "FIRST FAILED", "LAST FAILED", "TYPE", "KIND", "ERROR"],
              rows.map((r, i) => [
                String(groups[i]?.count),
                shortTime(r.first),
                shortTime(r.last),
                r.type ?? "(none)",
                r.error_kind,
                oneLine(r.error, 80),
              ]),
            ),
          ];
    return { ok: true, lines, json: { total, groups } };
  },
};
