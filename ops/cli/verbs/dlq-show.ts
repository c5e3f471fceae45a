import { withDb } from "../ops-db.ts";
import { readableBody } from "../readable-body.ts";
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
    const row = await withDb(config, (db) =>
      db.selectFrom("dead_letters").selectAll().where("id", "=", id).executeTakeFirst(),
    );
    if (row === undefined) return { ok: false, lines: [`no dead letter ${id}`], json: { found: false, id } };

    const body = readableBody(row.body);
    const letter = {
      id: row.id,
      status: row.status,
      messageId: row.message_id,
      type: row.type,
      exchange: row.exchange,
      routingKey: row.routing_key,
      errorKind: row.error_kind,
      error: row.error,
      attempts: row.attempts,
      failedAt: row.failed_at.toISOString(),
      archivedAt: row.archived_at.toISOString(),
      replayedAt: row.replayed_at?.toISOString() ?? null,
      replayedBy: row.replayed_by,
      purgedAt: row.purged_at?.toISOString() ?? null,
      purgedBy: row.purged_by,
      properties: row.properties,
      headers: row.headers,
      body: {
        kind: body.kind,
        bytes: row.body.length,
        ...(body.kind === "json" ? { json: body.value } : { text: body.text }),
        base64: row.body.toString("base64"),
      },
    };
    const indent = (text: string) => text.split("\n").map((l) => `  ${l}`);
    const lines = [
      `dead letter ${row.id} (${row.status})`,
      `message id:   ${row.message_id ?? "(none)"}`,
      `type:         ${row.type ?? "(none)"}`,
      `routing key:  ${row.routing_key} (exchange "${row.exchange}")`,
      `error:        [${row.error_kind}] ${row.error}`,
      `attempts:     ${row.attempts}`,
      `failed at:    ${letter.failedAt}`,
      `archived at:  ${letter.archivedAt}`,
      ...(row.replayed_at === null
        ? []
        : [`replayed:     ${letter.replayedAt} by ${row.replayed_by ?? "?"}`]),
      ...(row.purged_at === null ? [] : [`purged:       ${letter.purgedAt} by ${row.purged_by ?? "?"}`]),
      "headers:",
      ...indent(JSON.stringify(row.headers, null, 2)),
      "properties:",
      ...indent(JSON.stringify(row.properties, null, 2)),
      `body (${body.kind}, ${row.body.length} bytes):`,
      ...indent(body.text),
    ];
    return { ok: true, lines, json: letter };
  },
};
