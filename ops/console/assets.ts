// The console's only static files, kept in the code so that dist/ carries them. The script is
// served from our origin (the Content-Security-Policy allows no inline script).

/** Refreshes the element marked data-refresh every few seconds, without reloading the page. */
const script = `"use strict";
(() => {
  const selector = "[data-refresh]";
  const first = document.querySelector(selector);
  if (first === null) return;
  const seconds = Math.max(2, Number(first.getAttribute("data-refresh")) || 5);
  const tick = async () => {
    if (!document.hidden) {
      try {
        const response = await fetch(location.href, {
          headers: { accept: "text/html" },
          credentials: "same-origin",
          cache: "no-store",
        });
        if (response.ok) {
          const page = new DOMParser().parseFromString(await response.text(), "text/html");
          const fresh = page.querySelector(selector);
          const current = document.querySelector(selector);
          if (fresh !== null && current !== null) current.replaceWith(document.importNode(fresh, true));
        }
      } catch {
        // keep the last view; the next tick tries again
      }
    }
    setTimeout(tick, seconds * 1000);
  };
  setTimeout(tick, seconds * 1000);
})();
`;

const style = `:root { --fg: #1d2330; --muted: #5d6678; --line: #d9dde5; --bg: #f6f7f9; --accent: #2457c5;
  --bad: #b3261e; --bad-bg: #fdecea; --ok: #1e7b34; --warn-bg: #fff4d6; font-family: system-ui, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); font-size: 14px; line-height: 1.45; }
header { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #1d2330; color: #fff; }
header .brand { font-weight: 600; }
header nav a { color: #cfd6e4; margin-right: 16px; text-decoration: none; }
header nav a.here { color: #fff; border-bottom: 2px solid #fff; }
header .who { margin-left: auto; color: #cfd6e4; }
main { padding: 16px 24px 40px; max-width: 1400px; }
h1 { font-size: 20px; margin: 4px 0 12px; }
h2 { font-size: 16px; margin: 22px 0 8px; }
a { color: var(--accent); }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef0f4; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.error { max-width: 560px; overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
pre { background: #fff; border: 1px solid var(--line); padding: 10px 12px; overflow: auto; max-height: 480px;
  white-space: pre-wrap; overflow-wrap: anywhere; }
.banner { padding: 10px 14px; border-radius: 4px; margin: 8px 0 14px; }
.banner.bad { background: var(--bad-bg); color: var(--bad); border: 1px solid #f2b8b5; }
.banner.warn { background: var(--warn-bg); border: 1px solid #f0d48a; }
.banner.ok { background: #e7f5ea; color: var(--ok); border: 1px solid #b4dfbe; }
.muted { color: var(--muted); }
.pill { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; background: #eef0f4; }
.pill.ready { background: #e7f5ea; color: var(--ok); }
.pill.down { background: var(--bad-bg); color: var(--bad); }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); padding: 10px 14px; }
.card .value { font-size: 22px; font-weight: 600; }
form.filters { display: flex; gap: 10px; align-items: end; flex-wrap: wrap; margin-bottom: 8px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input[type=text], select, textarea { font: inherit; padding: 5px 7px; border: 1px solid #b9c0cc; border-radius: 3px; }
textarea { width: 100%; max-width: 640px; min-height: 60px; }
button, .button { font: inherit; padding: 5px 12px; border-radius: 3px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger, .button.danger { background: var(--bad); border-color: var(--bad); }
.actions { display: flex; gap: 8px; margin: 10px 0; flex-wrap: wrap; }
td .actions { flex-wrap: nowrap; margin: 0; }
td time { white-space: nowrap; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; background: #fff;
  border: 1px solid var(--line); padding: 10px 14px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
`;

export interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** The static files by path. */
export const assets: ReadonlyMap<string, Asset> = new Map([
  ["/static/console.js", { contentType: "text/javascript; charset=utf-8", body: Buffer.from(script) }],
  ["/static/console.css", { contentType: "text/css; charset=utf-8", body: Buffer.from(style) }],
]);
