import { purgeLetters } from "../../../lib/ops/dead-letter-purge.ts";
import { operatorName } from "../operator-name.ts";
import { withDb } from "../ops-db.ts";
import { flag, idsOption, noPositionals, stringOption } from "../option-values.ts";
import { UsageError, type Verb } from "../verb.ts";

export const dlqPurge: Verb = {
  words: ["dlq", "purge"],
  summary: "mark parked dead letters purged (the rows stay, for audit); needs --yes",
  usage: "dlq purge (--id ID… | --all) --yes [--by NAME] [--reason TEXT]",
  options: {
    id: { type: "string", multiple: true },
    all: { type: "boolean" },
    yes: { type: "boolean" },
    by: { type: "string" },
    reason: { type: "string" },
  },
  help: [
    "  --id ID        these dead letters (repeat it, or give a comma list)",
    "  --all          every parked dead letter",
    "  --yes          required: purging gives up on the messages",
    "  --by NAME      recorded as purged_by and in the audit (default: the OS user)",
    "  --reason TEXT  why, recorded in the audit (the console's /audit shows it)",
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
    const { purged, notPurged: others } = await withDb(config, (db) =>
      purgeLetters(
        db,
        { selection: all ? { kind: "all" } : { kind: "ids", ids } },
        {
          actor: { name: by, via: "cli" },
          reason: stringOption(values, "reason"),
        },
      ),
    );
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
