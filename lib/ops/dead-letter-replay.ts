import { sql } from "kysely";
import type { Db } from "../db/database.ts";
import { type Actor, recordAction } from "./audit-log.ts";
import { openBrokerSession } from "./broker-session.ts";
import { planLetters, type Skipped } from "./letter-plan.ts";
import type { BoundedSelection } from "./letter-selection.ts";
import { replayMessage } from "./replay-message.ts";

// Each letter is replayed in its own short transaction: lock the row (skipping one another run
// holds), publish and wait for the confirm, mark it replayed, commit. A letter is never marked
// without a confirm; a confirm whose mark is lost (crash) leaves it parked, and replaying it again
// is absorbed by the inbox.

export interface ReplayOutcome {
  readonly candidates: number;
  readonly replayed: readonly number[];
  /** Named ids not parked, and letters another run took first. */
  readonly skipped: readonly Skipped[];
  /** The letter the replay stopped at, and why (the broker refused or was lost). */
  readonly failed: { readonly id: number; readonly error: string } | undefined;
  /** Stopped between letters by the signal. */
  readonly interrupted: boolean;
  /** Candidates still parked when it ended. */
  readonly leftParked: number;
  /** The audit row written for it. */
  readonly auditId: number;
}

export interface ReplayDeps {
  readonly db: Db;
  readonly amqpUrl: string;
  /** The broker user of `amqpUrl`: a replay is published as it (RabbitMQ checks user_id). */
  readonly amqpUser: string;
  readonly confirmTimeoutMs: number;
}

/**
 * Replays the parked letters of a selection, oldest first, through exchange `billing` (confirmed),
 * marks each replayed by the actor, and records the whole action in the audit. Stops at the first
 * letter the broker does not take, and between letters once `signal` is aborted.
 */
export async function replayLetters(
  deps: ReplayDeps,
  bounded: BoundedSelection,
  options: {
    actor: Actor;
    reason?: string | undefined;
    signal?: AbortSignal;
    progress?: (done: number, of: number, replayed: number) => void;
  },
): Promise<ReplayOutcome> {
  const { db } = deps;
  const by = options.actor.name;
  const plan = await planLetters(db, bounded);
  const { candidates, notParked } = plan;
  const replayed: number[] = [];
  const skipped: Skipped[] = [...notParked];
  let failed: { id: number; error: string } | undefined;
  let interrupted = false;
  if (candidates.length > 0) {
    const broker = await openBrokerSession(deps.amqpUrl, { confirmTimeoutMs: deps.confirmTimeoutMs });
    try {
      for (const [i, candidate] of candidates.entries()) {
        if (options.signal?.aborted === true) {
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
            const message = replayMessage(letter, new Date(), deps.amqpUser);
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
        options.progress?.(i + 1, candidates.length, replayed.length);
      }
    } finally {
      await broker.close();
    }
  }
  const leftParked = candidates.length - replayed.length - (skipped.length - notParked.length);
  const auditId = await recordAction(db, {
    actor: options.actor,
    action: "replay",
    selection: bounded,
    count: replayed.length,
    reason: options.reason,
    outcome: { replayed, skipped, failed: failed ?? null, interrupted, leftParked },
  });
  return { candidates: candidates.length, replayed, skipped, failed, interrupted, leftParked, auditId };
}
