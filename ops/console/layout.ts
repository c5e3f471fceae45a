import type { Section } from "./console-request.ts";
import { type Html, html } from "./html.ts";

const sections: readonly { section: Section; href: string; label: string }[] = [
  { section: "fleet", href: "/", label: "Fleet" },
  { section: "dead-letters", href: "/dead-letters", label: "Dead letters" },
  { section: "audit", href: "/audit", label: "Audit" },
];

/** A whole page: the head (styles and the refresh script from our origin), the navigation and `body`. */
export function layout(options: {
  title: string;
  section: Section | undefined;
  user: string | undefined;
  body: Html;
  refresh?: number | undefined;
}): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · billing-fleet ops</title>
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
${options.refresh === undefined ? "" : html`<noscript><meta http-equiv="refresh" content="${options.refresh}"></noscript>`}
</head>
<body>
<header>
<span class="brand">billing-fleet ops</span>
<nav>${sections.map((s) => html`<a href="${s.href}" class="${s.section === options.section ? "here" : ""}">${s.label}</a>`)}</nav>
${options.user === undefined ? "" : html`<span class="who">signed in as <strong>${options.user}</strong></span>`}
</header>
<main>
${options.body}
</main>
</body>
</html>
`;
}
