import { type FleetStatus, readFleetStatus } from "../../../lib/ops/fleet-status.ts";
import type { ProcessReading } from "../../../lib/ops/metrics-scraper.ts";
import type { ReconcileStatus } from "../../../lib/ops/reconcile-status.ts";
import type { ConsoleContext } from "../console-context.ts";
import type { Reply } from "../console-request.ts";
import { rate, seconds, time } from "../format.ts";
import { type Html, html } from "../html.ts";

/** `/`: queues, rates, readiness, outbox lag, dead letters and reconciliation; refreshes itself. */
export async function fleetPage(ctx: ConsoleContext): Promise<Reply> {
  const status = await readFleetStatus({
    db: ctx.db,
    broker: ctx.broker,
    scraper: ctx.scraper,
    retryDelaysMs: ctx.retryDelaysMs,
    timeoutMs: ctx.dbTimeoutMs,
  });
  return {
    kind: "view",
    status: 200,
    section: "fleet",
    title: "Fleet",
    json: status,
    refresh: ctx.refreshSeconds,
    body: () => renderFleet(status, ctx.refreshSeconds),
  };
}

function renderFleet(status: FleetStatus, refresh: number): Html {
  const { broker, database } = status;
  const main = broker.ok ? broker.queues.find((q) => q.role === "main") : undefined;
  return html`<h1>Fleet</h1>
<div data-refresh="${refresh}">
<p class="muted">Read at ${time(status.readAt)}; refreshes every ${refresh} s.</p>
${broker.ok ? "" : html`<div class="banner bad" role="alert">${broker.error}</div>`}
${database.ok ? "" : html`<div class="banner bad" role="alert">${database.error}</div>`}
<div class="grid">
  <div class="card"><div class="muted">billing_queue ready</div><div class="value">${main?.messages ?? "—"}</div></div>
  <div class="card"><div class="muted">workers consuming</div><div class="value">${main?.consumers ?? "—"}</div></div>
  <div class="card"><div class="muted">applied (last minute)</div><div class="value">${database.ok ? rate(database.applyRate) : "—"}</div></div>
  <div class="card"><div class="muted">outbox lag</div><div class="value">${database.ok ? seconds(database.outbox.lagSeconds) : "—"}</div>
    <div class="muted">${database.ok ? `${database.outbox.pending} unpublished` : ""}</div></div>
  <div class="card"><div class="muted">parked dead letters</div><div class="value"><a href="/dead-letters">${database.ok ? database.parkedDeadLetters : "—"}</a></div></div>
</div>

<h2>Queues</h2>
${
  broker.ok
    ? html`<table><thead><tr><th>queue</th><th>role</th><th class="num">ready</th><th class="num">consumers</th></tr></thead>
<tbody>${broker.queues.map(
        (q) => html`<tr><td><code>${q.queue}</code></td><td>${roleText[q.role]}</td>
<td class="num">${q.present ? q.messages : html`<span class="pill down">missing</span>`}</td>
<td class="num">${q.present ? q.consumers : "—"}</td></tr>`,
      )}</tbody></table>
${broker.queues.some((q) => !q.present) ? html`<p class="banner warn">Some queues are missing: run <code>billing-ops topology</code> (or the <code>release</code> process).</p>` : ""}`
    : html`<p class="muted">Not available.</p>`
}

<h2>Processes</h2>
${renderProcesses(status.processes)}

<h2>Reconciliation</h2>
${database.ok ? renderReconcile(database.reconcile) : html`<p class="muted">Not available.</p>`}
</div>`;
}

const roleText = {
  main: "input",
  retry: "delayed retry",
  dlq: "dead letters, not yet archived",
} as const;

function renderProcesses(processes: readonly ProcessReading[]): Html {
  if (processes.length === 0) {
    return html`<p class="muted">No processes named: set <code>CONSOLE_METRICS_URLS</code> (e.g.
<code>web=http://web:8080,worker-1=http://worker-1:9464</code>) to see their readiness and rates. The
consumers of billing_queue above are the workers connected to the broker.</p>`;
  }
  const ready = (p: ProcessReading) =>
    p.ready === true
      ? html`<span class="pill ready">ready</span>`
      : p.ready === false
        ? html`<span class="pill down">not ready</span>`
        : html`<span class="pill down">no answer</span>`;
  return html`<table><thead><tr><th>process</th><th>url</th><th>readiness</th><th class="num">applied</th>
<th class="num">accepted (ingest)</th><th class="num">dead-lettered</th><th>read at</th></tr></thead>
<tbody>${processes.map(
    (p) => html`<tr><td>${p.name}</td><td><code>${p.url}</code></td><td>${ready(p)}${
      p.error === null ? "" : html` <span class="muted">${p.error}</span>`
    }</td><td class="num">${rate(p.applyRate)}</td><td class="num">${rate(p.ingestRate)}</td>
<td class="num">${rate(p.deadLetterRate)}</td><td>${time(p.readAt)}</td></tr>`,
  )}</tbody></table>
<p class="muted">Rates over the last minute of readings of each process's <code>/metrics</code>.</p>`;
}

function renderReconcile(status: ReconcileStatus): Html {
  if (!status.installed) {
    return html`<p class="muted">No reconciler: its table <code>billing.reconcile_cursor</code> does not exist.</p>`;
  }
  if (status.cursors.length === 0)
    return html`<p class="muted">The reconciler has not completed a pass yet.</p>`;
  return html`<table><thead><tr><th>stream</th><th>cursor (events created up to)</th><th>last pass started</th>
<th>last success</th><th class="num">found missing</th><th>updated</th></tr></thead>
<tbody>${status.cursors.map(
    (c) => html`<tr><td>${c.stream}</td><td>${time(c.cursorCreated)}</td><td>${time(c.lastPassStartedAt)}</td>
<td>${time(c.lastSuccessAt)}</td><td class="num">${c.lastFoundMissing ?? "—"}</td><td>${time(c.updatedAt)}</td></tr>`,
  )}</tbody></table>`;
}
