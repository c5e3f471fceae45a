import { type Html, html } from "./html.ts";

// How the pages write times, rates and durations.

/** An ISO time as "2026-12-03 17:20:05 UTC", with the exact value on hover. */
export function time(iso: string | null | undefined): Html {
  if (iso === null || iso === undefined) return html`<span class="muted">—</span>`;
  const text = `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
  return html`<time datetime="${iso}" title="${iso}">${text}</time>`;
}

/** A per-second rate, or a dash when unknown. */
export function rate(value: number | null): Html {
  if (value === null) return html`<span class="muted">—</span>`;
  return html`${value >= 10 ? value.toFixed(0) : value.toFixed(value === 0 ? 0 : 2)}/s`;
}

/** Seconds as "42 s", "3 min", "2.5 h". */
export function seconds(value: number): string {
  if (value < 90) return `${Math.round(value)} s`;
  if (value < 5400) return `${Math.round(value / 60)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

/** "1 letter" / "3 letters". */
export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}
