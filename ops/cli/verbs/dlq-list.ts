import { filterHelp, filterOptions, readFilter, whereFilter } from "../dead-letter-filter.ts";
import { withDb } from "../ops-db.ts";
import { integerOption, noPositionals } from "../option-values.ts";
import { formatTable, oneLine, shortTime } from "../text-table.ts";
import type { Verb } from "../verb.ts";

/** One parked dead letter as `dlq list --json` prints it. */
export interface DlqListItem {
  id: number;
  messageId: string | null;
  type: string | null;
  routingKey: string;
  errorKind: string;
  error: string;
  attempts: number;
  failedAt: string;
}

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
    const rows = await withDb(config, (db) =>
      db
        .selectFrom("dead_letters")
        .select(["id", "message_id", "type", "routing_key", "error_kind", "error", "attempts", "failed_at"])
        .where("status", "=", "parked")
        .$call(whereFilter(filter))
        .orderBy("failed_at", "desc")
        .orderBy("id", "desc")
        .limit(limit)
        .execute(),
    );
    const items: DlqListItem[] = rows.map((r) => ({
      id: r.id,
      messageId: r.message_id,
      type: r.type,
      routingKey: r.routing_key,
      errorKind: r.error_kind,
      error: r.error,
      attempts: r.attempts,
      failedAt: r.failed_at.toISOString(),
    }));
    const lines =
      rows.length === 0
        ? ["no parked dead letters match"]
        : formatTable(
            ["ID", "FAILED AT", "TYPE", "MESSAGE ID", "KIND", "ATTEMPTS", "ERROR"],
            rows.map((r) => [
              String(r.id),
              shortTime(r.failed_at),
              r.type ?? "(none)",
              r.message_id ?? "(none)",
              r.error_kind,
              String(r.attempts),
              oneLine(r.error, 70),
            ]),
          );
    return { ok: true, lines, json: { letters: items } };
  },
};
