import { type DeadLetter, showDeadLetter } from "../../../lib/ops/dead-letter-show.ts";
import { type ConsoleContext, readDb } from "../console-context.ts";
import { Refusal, type Reply } from "../console-request.ts";
import { time } from "../format.ts";
import { type Html, html } from "../html.ts";
import { selectionFields, withQuery } from "../selection-params.ts";

/** `/dead-letters/<id>`: one letter whole, in any status. */
export async function letterPage(ctx: ConsoleContext, id: number): Promise<Reply> {
  const found = await readDb(ctx, (db) => showDeadLetter(db, id));
  if (found === undefined) throw new Refusal(404, `no dead letter ${id}`);
  const { bodyText, ...letter } = found;
  return {
    kind: "view",
    status: 200,
    section: "dead-letters",
    title: `Dead letter ${id}`,
    json: letter,
    body: () => renderLetter(letter, bodyText),
  };
}

function renderLetter(letter: Omit<DeadLetter, "bodyText">, bodyText: string): Html {
  const one = { selection: { kind: "ids" as const, ids: [letter.id] } };
  return html`<h1>Dead letter ${letter.id} <span class="pill">${letter.status}</span></h1>
${
  letter.status === "parked"
    ? html`<div class="actions"><a class="button" href="${withQuery("/dead-letters/replay", selectionFields(one))}">Replay…</a>
<a class="button secondary" href="${withQuery("/dead-letters/purge", selectionFields(one))}">Purge…</a></div>`
    : ""
}
<dl class="facts">
<dt>message id</dt><dd><code>${letter.messageId ?? "(none)"}</code></dd>
<dt>type</dt><dd><code>${letter.type ?? "(none)"}</code></dd>
<dt>routing key</dt><dd><code>${letter.routingKey}</code> (exchange <code>${letter.exchange}</code>)</dd>
<dt>error</dt><dd class="error">[${letter.errorKind}] ${letter.error}</dd>
<dt>attempts</dt><dd>${letter.attempts}</dd>
<dt>failed at</dt><dd>${time(letter.failedAt)}</dd>
<dt>archived at</dt><dd>${time(letter.archivedAt)}</dd>
${letter.replayedAt === null ? "" : html`<dt>replayed</dt><dd>${time(letter.replayedAt)} by ${letter.replayedBy ?? "?"}</dd>`}
${letter.purgedAt === null ? "" : html`<dt>purged</dt><dd>${time(letter.purgedAt)} by ${letter.purgedBy ?? "?"}</dd>`}
</dl>
<h2>Headers</h2>
<pre class="headers">${JSON.stringify(letter.headers, null, 2)}</pre>
<h2>Properties</h2>
<pre class="properties">${JSON.stringify(letter.properties, null, 2)}</pre>
<h2>Body <span class="muted">(${letter.body.kind}, ${letter.body.bytes} bytes)</span></h2>
<pre class="body">${bodyText}</pre>`;
}
