// A dead letter's body as a person can read it, without ever changing the stored bytes.

export type ReadableBody =
  | { readonly kind: "json"; readonly text: string; readonly value: unknown }
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "binary"; readonly text: string };

/** Pretty JSON when the body parses; else UTF-8 text with control characters escaped; else escaped bytes. */
export function readableBody(body: Buffer): ReadableBody {
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    return { kind: "binary", text: escapeBytes(body) };
  }
  try {
    const value: unknown = JSON.parse(decoded);
    return { kind: "json", text: JSON.stringify(value, null, 2), value };
  } catch {
    return { kind: "text", text: escapeControls(decoded) };
  }
}

/** Newlines and tabs stay; other control characters become \uXXXX so a terminal shows, not obeys, them. */
function escapeControls(text: string): string {
  let out = "";
  for (const c of text) {
    const code = c.codePointAt(0) ?? 0;
    const control = (code < 0x20 && c !== "\n" && c !== "\t") || (code >= 0x7f && code <= 0x9f);
    if (c === "\\") out += "\\\\";
    else if (control) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += c;
  }
  return out;
}

/** Printable ASCII as is; every other byte as \xNN. */
function escapeBytes(body: Buffer): string {
  let out = "";
  for (const byte of body) {
    if (byte === 0x5c) out += "\\\\";
    else if (byte === 0x0a) out += "\n";
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}
