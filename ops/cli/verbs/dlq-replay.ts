import { sql } from "kysely";
import type { Db } from "../../../lib/db/database.ts";
import { openBrokerSession } from "../broker-session.ts";
import { filterHelp, filterOptions, isNarrowed, readFilter, whereFilter } from "../dead-letter-filter.ts";
import { operatorName } from "../operator-name.ts";
import { withDb } from "../ops-db.ts";
import { flag, idsOption, noPositionals, stringOption } from "../option-values.ts";
import { replayMessage } from "../replay-message.ts";
import { formatTable, oneLine, shortTime } from "../text-table.ts";
import { UsageError, type Verb, type VerbContext } from "../verb.ts";

// Each letter is replayed in its own short transaction: lock the row (skipping one another run
// holds), publish and wait for the confirm, mark it replayed, commit. A letter is never marked
// without a confirm; a confirm whose mark is lost (crash) leaves it parked, and replaying it again
// is absorbed by the inbox.

interface Candidate {
  id: number;
  type: string | null;
  message_id: string | null;
  routing_key: string;
  error: string;
  failed_at: Date;
}

export const dlqReplay: Verb = {
  words: ["dlq", "replay"],
  summary: "republish parked dead letters to `billing` (confirmed), then mark them replayed",
  usage: "dlq replay (--id ID… | --type T | --error TEXT | --all) [--since DURATION] [--dry-run] [--by NAME]",
  options: {
    id: { type: "string", multiple: true },
    ...filterOptions,
    all: { type: "boolean" },
    "dry-run": { type: "boolean" },
    by: { type: "string" },
  },
  help: [
    "Choose the letters with --id (repeat it, or give a comma list), with filters, or with --all:",
    "  --id ID           these dead letters (only parked ones are replayed)",
    filterHelp,
    "  --all             every parked dead letter",
    "  --dry-run         list what would be replayed; publish and change nothing",
    "  --by NAME         recorded as replayed_by (default: the OS user)",
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
    const dryRun = flag(values, "dry-run");

    return withDb(context.config, async (db) => {
      const candidates = await db
        .selectFrom("dead_letters")
        .select(["id", "type", "message_id", "error", "failed_at"])
        // What replayMessage will use: the original routing key a retry kept in x-routing-key.
        .select(sql<string>`coalesce(nullif(headers->>'x-routing-key', ''), routing_key)`.as("routing_key"))
        .where("status", "=", "parked")
        .$if(ids.length > 0, (q) => q.where("id", "in", ids))
        .$call(whereFilter(filter))
        .orderBy("failed_at")
        .orderBy("id")
        .execute();
      const notParked = ids.length > 0 ? await explainMissing(db, ids, candidates) : [];
      const unknown = notParked.filter((s) => s.reason === "no such dead letter");
      if (dryRun) return dryRunResult(candidates, notParked, unknown.length === 0);
      return replay(context, db, candidates, notParked, by);
    });
  },
};

async function explainMissing(db: Db, ids: number[], candidates: Candidate[]) {
  const chosen = new Set(candidates.map((c) => c.id));
  const rest = ids.filter((id) => !chosen.has(id));
  if (rest.length === 0) return [];
  const rows = await db.selectFrom("dead_letters").select(["id", "status"]).where("id", "in", rest).execute();
  const status = new Map(rows.map((r) => [r.id, r.status]));
  return rest.map((id) => {
    const s = status.get(id);
    return { id, reason: s === undefined ? "no such dead letter" : `already ${s}` };
  });
}

function dryRunResult(candidates: Candidate[], skipped: { id: number; reason: string }[], ok: boolean) {
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
              shortTime(c.failed_at),
              c.routing_key,
              c.message_id ?? "(none)",
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
        routingKey: c.routing_key,
        messageId: c.message_id,
        type: c.type,
      })),
      skipped,
    },
  };
}

async function replay(
  { config, signal, progress }: VerbContext,
  db: Db,
  candidates: Candidate[],
  notParked: { id: number; reason: string }[],
  by: string,
) {
  const replayed: number[] = [];
  const skipped = [...notParked];
  let failed: { id: number; error: string } | undefined;
  let interrupted = false;
  if (candidates.length > 0) {
    const broker = await openBrokerSession(config.amqpUrl, { confirmTimeoutMs: config.publishTimeoutMs });
    try {
      for (const [i, candidate] of candidates.entries()) {
        if (signal.aborted) {
          interrupted = true;
          break;
        }
        try {
          const done = await db.transaction().execute(async (trx) => {
            const letter = await trx
              .selectFrom("dead_letters")
              .select(["id", "routing_key", "body", "properties", "headers"])
              .where("id", "=", candidate.id)
              .where("status", "=", "parked")
              .forUpdate()
              .skipLocked()
              .executeTakeFirst();
            if (letter === undefined) return false;
            const message = replayMessage(letter, new Date(), config.amqpUser);
            await broker.publishConfirmed(
              message.exchange,
              message.routingKey,
              message.body,
              message.options,
            );
            await trx
              .updateTable("dead_letters")
              .set({ status: "replayed", replayed_at: sql<Date>`now()`, replayed_by: by })
              .where("id", "=", letter.id)
              .where("status", "=", "parked")
              .execute();
            return true;
          });
          if (done) replayed.push(candidate.id);
          else
            skipped.push({
              id: candidate.id,
              reason: "no longer parked (replayed or purged by another run)",
            });
        } catch (error) {
          failed = { id: candidate.id, error: error instanceof Error ? error.message : String(error) };
          break;
        }
        progress(`replaying: ${i + 1}/${candidates.length} (${replayed.length} replayed)`);
      }
    } finally {
      await broker.close();
    }
  }
  const left = candidates.length - replayed.length - (skipped.length - notParked.length);
  const unknown = notParked.some((s) => s.reason === "no such dead letter");
  const lines = [
    `replayed ${replayed.length} of ${candidates.length} dead letter${candidates.length === 1 ? "" : "s"} (by ${by})`,
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
}
