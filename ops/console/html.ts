// HTML built by a tagged template that escapes every value put into it. Only what this template
// itself produced is trusted as markup, so a value from a message (a body, an error, a header)
// can only ever become text.

const trusted = Symbol("trusted html");

/** Markup made by `html`: the only thing inserted without escaping. */
export interface Html {
  readonly [trusted]: true;
  readonly text: string;
}

/** A value the template accepts: text (escaped), markup, or a list of either; nothing renders as nothing. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const entities: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/** Text made safe for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => entities[c] ?? c);
}

function isHtml(value: unknown): value is Html {
  return typeof value === "object" && value !== null && (value as Html)[trusted] === true;
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return "";
  if (isHtml(value)) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/** html`<td>${value}</td>`: the literal parts are markup, every value is escaped. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let text = strings[0] ?? "";
  values.forEach((value, i) => {
    text += render(value) + (strings[i + 1] ?? "");
  });
  return { [trusted]: true, text };
}
