import { showDeadLetter } from "../../../lib/ops/dead-letter-show.ts";
import { withDb } from "../ops-db.ts";
import { UsageError, type Verb } from "../verb.ts";

export const dlqShow: Verb = {
  words: ["dlq", "show"],
  summary: "one dead letter, whole: headers, properties, attempts, error and a readable body",
  usage: "dlq show ID",
  options: {},
  help: [
    "Shows a dead letter in any status (parked, replayed, purged). The body is pretty-printed when",
    "it is JSON, else shown as text with control characters escaped; --json also gives the exact",
    "bytes in base64.",
  ].join("\n"),
  async run({ config }, _values, positionals) {
    const [raw, extra] = positionals;
    if (raw === undefined || extra !== undefined || !/^\d{1,15}$/.test(raw)) {
      throw new UsageError(
        raw === undefined ? "needs a dead-letter ID" : `"${positionals.join(" ")}" is not one dead-letter ID`,
      );
    }
    const id = Number(raw);
    const found = await withDb(config, (db) => showDeadLetter(db, id));
    if (found === undefined)
      return { ok: false, lines: [`no dead letter ${id}`], json: { found: false, id } };

    const { bodyText, ...letter } = found;
    const indent = (text: string) => text.split("\n").map((l) => `  ${l}`);
    const lines = [
      `dead letter ${letter.id} (${letter.status})`,
      `message id:   ${letter.messageId ?? "(none)"}`,
      `type:         ${letter.type ?? "(none)"}`,
      `routing key:  ${letter.routingKey} (exchange "${letter.exchange}")`,
      `error:        [${letter.errorKind}] ${letter.error}`,
      `attempts:     ${letter.attempts}`,
      `failed at:    ${letter.failedAt}`,
      `archived at:  ${letter.archivedAt}`,
      ...(letter.replayedAt === null
        ? []
        : [`replayed:     ${letter.replayedAt} by ${letter.replayedBy ?? "?"}`]),
      ...(letter.purgedAt === null ? [] : [`purged:       ${letter.purgedAt} by ${letter.purgedBy ?? "?"}`]),
      "headers:",
      ...indent(JSON.stringify(letter.headers, null, 2)),
      "properties:",
      ...indent(JSON.stringify(letter.properties, null, 2)),
      `body (${letter.body.kind}, ${letter.body.bytes} bytes):`,
      ...indent(bodyText),
    ];
    return { ok: true, lines, json: letter };
  },
};
