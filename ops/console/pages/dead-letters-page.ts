import { type DeadLetterGroup, groupDeadLetters } from "../../../lib/ops/dead-letter-groups.ts";
import { type DeadLetterSummary, listDeadLetters } from "../../../lib/ops/dead-letter-list.ts";
import { formatDuration } from "../../../lib/ops/duration.ts";
import type { BoundedSelection, LetterFilter } from "../../../lib/ops/letter-selection.ts";
import { type ConsoleContext, readDb } from "../console-context.ts";
import type { ConsoleRequest, Reply } from "../console-request.ts";
import { plural, time } from "../format.ts";
import { type Html, html } from "../html.ts";
import { describeFilter, readFilterParams, selectionFields, withQuery } from "../selection-params.ts";

const listLimit = 200;
const windows = ["15m", "1h", "6h", "24h", "7d", "30d"] as const;

/** `/dead-letters`: parked letters grouped by type and error, then the newest letters; both filtered. */
export async function deadLettersPage(ctx: ConsoleContext, req: ConsoleRequest): Promise<Reply> {
  const filter = readFilterParams(req.query);
  const selection: BoundedSelection = { selection: { kind: "filter", filter } };
  const [groups, letters] = await readDb(ctx, (db) =>
    Promise.all([groupDeadLetters(db, filter), listDeadLetters(db, selection, listLimit)]),
  );
  const total = groups.reduce((sum, g) => sum + g.count, 0);
  return {
    kind: "view",
    status: 200,
    section: "dead-letters",
    title: "Dead letters",
    json: { filter, total, groups, letters },
    body: () => renderPage(filter, total, groups, letters),
  };
}

function renderPage(
  filter: LetterFilter,
  total: number,
  groups: readonly DeadLetterGroup[],
  letters: readonly DeadLetterSummary[],
): Html {
  const described = describeFilter(filter);
  const all: BoundedSelection = { selection: { kind: "filter", filter } };
  return html`<h1>Dead letters</h1>
${renderFilterForm(filter)}
<p>${plural(total, "parked dead letter")} in ${plural(groups.length, "group")}${described === "" ? "" : ` ${described}`}.</p>
${
  total === 0
    ? ""
    : html`<div class="actions">
<a class="button secondary" href="${withQuery("/dead-letters/replay", selectionFields(all))}">Replay every letter shown (${total})…</a>
<a class="button secondary" href="${withQuery("/dead-letters/purge", selectionFields(all))}">Purge every letter shown (${total})…</a>
</div>`
}
<h2>Groups</h2>
${groups.length === 0 ? html`<p class="muted">Nothing parked${described === "" ? "" : " matches"}.</p>` : renderGroups(groups)}
<h2>Letters, newest first</h2>
${letters.length === 0 ? html`<p class="muted">None.</p>` : renderLetters(letters, total)}`;
}

function renderFilterForm(filter: LetterFilter): Html {
  const since = filter.sinceMs === undefined ? "" : formatDuration(filter.sinceMs);
  const options =
    windows.includes(since as (typeof windows)[number]) || since === "" ? windows : [...windows, since];
  return html`<form class="filters" method="get" action="/dead-letters">
<label>type<input type="text" name="type" value="${filter.type ?? ""}" placeholder="payment_intent.succeeded"></label>
<label>error contains<input type="text" name="q" value="${filter.errorText ?? ""}" placeholder="unknown account"></label>
<label>failed within<select name="since"><option value="">any time</option>${options.map(
    (w) => html`<option value="${w}" ${w === since ? html`selected` : ""}>${w}</option>`,
  )}</select></label>
<button type="submit">Filter</button>
<a href="/dead-letters" class="button secondary">Clear</a>
</form>`;
}

function renderGroups(groups: readonly DeadLetterGroup[]): Html {
  return html`<table class="groups"><thead><tr><th class="num">count</th><th>type</th><th>kind</th><th>error</th>
<th>first failed</th><th>last failed</th><th>actions</th></tr></thead>
<tbody>${groups.map((g) => {
    const group: BoundedSelection = {
      selection: { kind: "group", type: g.type, errorKind: g.errorKind, error: g.error },
    };
    return html`<tr data-group-type="${g.type ?? ""}"><td class="num count">${g.count}</td><td><code>${g.type ?? "(none)"}</code></td>
<td>${g.errorKind}</td><td class="error">${g.error}</td><td>${time(g.firstFailedAt)}</td><td>${time(g.lastFailedAt)}</td>
<td><div class="actions"><a class="button secondary" href="${withQuery("/dead-letters/replay", selectionFields(group))}">Replay…</a>
<a class="button secondary" href="${withQuery("/dead-letters/purge", selectionFields(group))}">Purge…</a></div></td></tr>`;
  })}</tbody></table>`;
}

function renderLetters(letters: readonly DeadLetterSummary[], total: number): Html {
  return html`<form method="get" action="/dead-letters/replay">
<input type="hidden" name="mode" value="ids">
<table class="letters"><thead><tr><th></th><th>id</th><th>failed at</th><th>type</th><th>message id</th><th>kind</th>
<th class="num">attempts</th><th>error</th></tr></thead>
<tbody>${letters.map(
    (l) => html`<tr><td><input type="checkbox" name="id" value="${l.id}" aria-label="select ${l.id}"></td>
<td><a href="/dead-letters/${l.id}">${l.id}</a></td><td>${time(l.failedAt)}</td><td><code>${l.type ?? "(none)"}</code></td>
<td><code>${l.messageId ?? "(none)"}</code></td><td>${l.errorKind}</td><td class="num">${l.attempts}</td>
<td class="error">${l.error}</td></tr>`,
  )}</tbody></table>
${letters.length < total ? html`<p class="muted">The newest ${letters.length} of ${total}; narrow the filter to see others.</p>` : ""}
<div class="actions"><button type="submit">Replay selected…</button>
<button type="submit" class="secondary" formaction="/dead-letters/purge">Purge selected…</button></div>
</form>`;
}
