import { purgeLetters } from "../../../lib/ops/dead-letter-purge.ts";
import { replayLetters } from "../../../lib/ops/dead-letter-replay.ts";
import { failureText } from "../../../lib/ops/failure-text.ts";
import { type LetterPlan, planLetters } from "../../../lib/ops/letter-plan.ts";
import { type BoundedSelection, selectionRecord } from "../../../lib/ops/letter-selection.ts";
import { type ConsoleContext, readDb } from "../console-context.ts";
import { type ConsoleRequest, Refusal, type Reply } from "../console-request.ts";
import { plural, time } from "../format.ts";
import { type Html, html } from "../html.ts";
import { describeSelection, readSelection, selectionFields } from "../selection-params.ts";

// Replay and purge, always in two steps: a GET shows the dry run (what, how many) with a confirm
// form; the POST of that form acts on exactly what the dry run listed (bounded by its newest id)
// and lands on the action's audit entry.

export type Action = "replay" | "purge";

const shownLimit = 200;
const maxReasonLength = 1000;

const verbs = {
  replay: {
    doing: "replayed",
    button: "Replay",
    note: "republished to exchange billing, then marked replayed",
  },
  purge: { doing: "purged", button: "Purge", note: "marked purged (kept for the record, never replayed)" },
} as const;

/** GET /dead-letters/replay|purge: the dry run and its confirm form. Changes nothing. */
export async function actionPreview(
  ctx: ConsoleContext,
  req: ConsoleRequest,
  action: Action,
): Promise<Reply> {
  const asked = readSelection(req.query);
  const plan = await readDb(ctx, (db) => planLetters(db, asked));
  const confirm: BoundedSelection = { selection: asked.selection, upToId: plan.upToId ?? asked.upToId };
  const count = plan.candidates.length;
  return {
    kind: "view",
    status: 200,
    section: "dead-letters",
    title: `${verbs[action].button}: dry run`,
    json: {
      action,
      dryRun: true,
      selection: selectionRecord(asked),
      count,
      letters: plan.candidates.map((c) => ({ ...c, failedAt: c.failedAt.toISOString() })),
      skipped: plan.notParked,
      // what a script POSTs to carry it out (with the X-CSRF-Token of this answer and its cookie)
      confirm:
        count === 0
          ? null
          : { method: "POST", path: `/dead-letters/${action}`, fields: selectionFields(confirm) },
    },
    body: () => renderPreview(action, asked, confirm, plan, req.csrf),
  };
}

function renderPreview(
  action: Action,
  asked: BoundedSelection,
  confirm: BoundedSelection,
  plan: LetterPlan,
  csrf: string,
): Html {
  const count = plan.candidates.length;
  const shown = plan.candidates.slice(0, shownLimit);
  const verb = verbs[action];
  return html`<h1>${verb.button}: dry run</h1>
<p class="banner warn dry-run"><strong>${plural(count, "dead letter")}</strong> would be ${verb.doing}: ${describeSelection(asked)}.
Nothing has been ${verb.doing} yet.</p>
${
  count === 0
    ? html`<p>Nothing to ${action}. <a href="/dead-letters">Back to the dead letters</a>.</p>`
    : html`<table class="candidates"><thead><tr><th>id</th><th>failed at</th><th>routing key</th><th>message id</th><th>error</th></tr></thead>
<tbody>${shown.map(
        (
          c,
        ) => html`<tr><td><a href="/dead-letters/${c.id}">${c.id}</a></td><td>${time(c.failedAt.toISOString())}</td>
<td><code>${c.routingKey}</code></td><td><code>${c.messageId ?? "(none)"}</code></td><td class="error">${c.error}</td></tr>`,
      )}</tbody></table>
${count > shown.length ? html`<p class="muted">and ${count - shown.length} more.</p>` : ""}`
}
${plan.notParked.length === 0 ? "" : html`<ul>${plan.notParked.map((s) => html`<li>${s.id}: not taken, ${s.reason}</li>`)}</ul>`}
${
  count === 0
    ? ""
    : html`<form method="post" action="/dead-letters/${action}" class="confirm">
<input type="hidden" name="csrf" value="${csrf}">
${selectionFields(confirm).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<p>Each letter is ${verb.note}. Letters parked after this dry run are left alone.</p>
<label for="reason">Reason${action === "purge" ? " (required)" : " (optional)"}, recorded in the audit</label><br>
<textarea id="reason" name="reason" maxlength="${maxReasonLength}" ${action === "purge" ? html`required` : ""}></textarea>
<div class="actions"><button type="submit" class="${action === "purge" ? "danger" : ""}">${verb.button} ${plural(count, "dead letter")}</button>
<a class="button secondary" href="/dead-letters">Cancel</a></div>
</form>`
}`;
}

/** POST /dead-letters/replay|purge: carries out a confirmed dry run, then shows its audit entry. */
export async function actionPerform(
  ctx: ConsoleContext,
  req: ConsoleRequest,
  action: Action,
): Promise<Reply> {
  const bounded = readSelection(req.form);
  if (bounded.upToId === undefined) {
    throw new Refusal(400, `a ${action} is confirmed from its dry run: open /dead-letters/${action} first`);
  }
  const reason = req.form.get("reason")?.trim() ?? "";
  if (reason.length > maxReasonLength)
    throw new Refusal(400, `the reason is longer than ${maxReasonLength} characters`);
  if (action === "purge" && reason === "")
    throw new Refusal(400, "a purge needs a reason: say why these messages are given up");
  const actor = { name: req.user.name, via: "console" as const };
  const options = { actor, reason: reason === "" ? undefined : reason };
  try {
    const outcome =
      action === "replay"
        ? await replayLetters(
            {
              db: ctx.db,
              amqpUrl: ctx.amqpUrl,
              amqpUser: ctx.amqpUser,
              confirmTimeoutMs: ctx.publishTimeoutMs,
            },
            bounded,
            options,
          )
        : await purgeLetters(ctx.db, bounded, options);
    return { kind: "redirect", location: `/audit/${outcome.auditId}`, json: { action, ...outcome } };
  } catch (error) {
    throw new Refusal(503, `the ${action} could not run: ${failureText(error)}`);
  }
}
