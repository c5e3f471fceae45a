// Aligned columns for the human output of the CLI (--json is the machine form).

/** Lines of a left-aligned table: a header row, then one row per item; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** Cuts text to `max` characters, marking the cut, and keeps it on one line. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1))}…`;
}

/** An ISO 8601 timestamp to the second, as the tables print it. */
export function shortTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
