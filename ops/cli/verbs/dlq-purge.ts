import { sql } from "kysely";
import { operatorName } from "../operator-name.ts";
import { withDb } from "../ops-db.ts";
import { flag, idsOption, noPositionals, stringOption } from "../option-values.ts";
import { UsageError, type Verb } from "../verb.ts";

export const dlqPurge: Verb = {
  words: ["dlq", "purge"],
  summary: "mark parked dead letters purged (the rows stay, for audit); needs --yes",
  usage: "dlq purge (--id ID… | --all) --yes [--by NAME]",
  options: {
    id: { type: "string", multiple: true },
    all: { type: "boolean" },
    yes: { type: "boolean" },
    by: { type: "string" },
  },
  help: [
    "  --id ID    these dead letters (repeat it, or give a comma list)",
    "  --all      every parked dead letter",
    "  --yes      required: purging gives up on the messages",
    "  --by NAME  recorded as purged_by (default: the OS user)",
    "",
    "Purged letters are never replayed and leave `dlq stats`/`dlq list`; `dlq show ID` still shows them.",
  ].join("\n"),
  async run({ config }, values, positionals) {
    noPositionals(positionals);
    const ids = idsOption(values);
    const all = flag(values, "all");
    if (ids.length > 0 === all) throw new UsageError("choose what to purge: --id ID… or --all (one of them)");
    if (!flag(values, "yes")) {
      throw new UsageError(
        "purging gives up on messages: add --yes to confirm (`dlq list` shows what is parked)",
      );
    }
    const by = stringOption(values, "by") ?? operatorName();
    if (by.trim() === "") throw new UsageError("--by must name someone");
    const { purged, others } = await withDb(config, async (db) => {
      const purged = await db
        .updateTable("dead_letters")
        .set({ status: "purged", purged_at: sql<Date>`now()`, purged_by: by })
        .where("status", "=", "parked")
        .$if(!all, (q) => q.where("id", "in", ids))
        .returning("id")
        .execute();
      const done = new Set(purged.map((r) => r.id));
      const rest = ids.filter((id) => !done.has(id));
      const others =
        rest.length === 0
          ? []
          : await db.selectFrom("dead_letters").select(["id", "status"]).where("id", "in", rest).execute();
      const status = new Map(others.map((r) => [r.id, r.status]));
      return {
        purged: [...done].sort((a, b) => a - b),
        others: rest.map((id) => ({ id, status: status.get(id) ?? "unknown" })),
      };
    });
    // Purging twice is fine; a letter that is unknown or was replayed is not what was asked.
    const refused = others.filter((o) => o.status !== "purged");
    const lines = [
      `purged ${purged.length} dead letter${purged.length === 1 ? "" : "s"} (by ${by})`,
      ...others.map((o) =>
        o.status === "purged"
          ? `${o.id}: already purged`
          : `${o.id}: not purged (${o.status === "unknown" ? "no such dead letter" : `it is ${o.status}`})`,
      ),
    ];
    return { ok: refused.length === 0, lines, json: { by, purged, notPurged: others } };
  },
};
