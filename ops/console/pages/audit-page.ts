import { type AuditEntry, findAuditEntry, listAudit } from "../../../lib/ops/audit-log.ts";
import { type ConsoleContext, readDb } from "../console-context.ts";
import { Refusal, type Reply } from "../console-request.ts";
import { time } from "../format.ts";
import { type Html, html } from "../html.ts";
import { describeRecorded } from "../selection-params.ts";

const listLimit = 200;

/** `/audit`: every replay and purge, newest first, with who did it and through which face. */
export async function auditPage(ctx: ConsoleContext): Promise<Reply> {
  const entries = await readDb(ctx, (db) => listAudit(db, listLimit));
  return {
    kind: "view",
    status: 200,
    section: "audit",
    title: "Audit",
    json: { entries },
    body: () => html`<h1>Audit</h1>
<p class="muted">Every replay and purge, from this console or from <code>billing-ops</code>, newest first (at most ${listLimit}).</p>
${entries.length === 0 ? html`<p class="muted">No actions yet.</p>` : renderEntries(entries)}`,
  };
}

/** `/audit/<id>`: one action whole; where the console lands after a replay or purge. */
export async function auditEntryPage(ctx: ConsoleContext, id: number): Promise<Reply> {
  const entry = await readDb(ctx, (db) => findAuditEntry(db, id));
  if (entry === undefined) throw new Refusal(404, `no audit entry ${id}`);
  return {
    kind: "view",
    status: 200,
    section: "audit",
    title: `Audit entry ${id}`,
    json: entry,
    body: () => html`<h1>${entry.action === "replay" ? "Replay" : "Purge"} #${entry.id}</h1>
<p class="banner ${outcomeIsClean(entry) ? "ok" : "warn"} outcome">${summary(entry)}</p>
<dl class="facts">
<dt>when</dt><dd>${time(entry.actedAt)}</dd>
<dt>who</dt><dd class="actor">${entry.actor} <span class="muted">(${viaText(entry)})</span></dd>
<dt>selection</dt><dd>${describeRecorded(entry.filter)}</dd>
<dt>reason</dt><dd>${entry.reason ?? html`<span class="muted">none given</span>`}</dd>
</dl>
<h2>Outcome</h2>
<pre>${JSON.stringify(entry.outcome, null, 2)}</pre>
<p><a href="/dead-letters">Dead letters</a> · <a href="/audit">All actions</a></p>`,
  };
}

function renderEntries(entries: readonly AuditEntry[]): Html {
  return html`<table class="audit"><thead><tr><th>#</th><th>when</th><th>who</th><th>via</th><th>action</th>
<th class="num">count</th><th>selection</th><th>reason</th></tr></thead>
<tbody>${entries.map(
    (
      e,
    ) => html`<tr><td><a href="/audit/${e.id}">${e.id}</a></td><td>${time(e.actedAt)}</td><td class="actor">${e.actor}</td>
<td>${e.via}</td><td class="action">${e.action}</td><td class="num">${e.count}</td><td class="error">${describeRecorded(e.filter)}</td>
<td>${e.reason ?? ""}</td></tr>`,
  )}</tbody></table>`;
}

function viaText(entry: AuditEntry): string {
  return entry.via === "console" ? "in the console" : "with billing-ops";
}

function outcomeIsClean(entry: AuditEntry): boolean {
  const { outcome } = entry;
  return outcome.failed === null || outcome.failed === undefined ? outcome.interrupted !== true : false;
}

function summary(entry: AuditEntry): string {
  const { outcome } = entry;
  const letters = `${entry.count} dead letter${entry.count === 1 ? "" : "s"}`;
  if (entry.action === "purge") return `${entry.actor} purged ${letters}.`;
  const failed = outcome.failed as { id?: number; error?: string } | null | undefined;
  const left = typeof outcome.leftParked === "number" ? outcome.leftParked : 0;
  if (failed !== null && failed !== undefined) {
    return `${entry.actor} replayed ${letters}; stopped at ${failed.id ?? "?"}: ${failed.error ?? "?"} (${left} left parked).`;
  }
  return `${entry.actor} replayed ${letters}.`;
}
