import { formatDuration, parseDuration } from "../../lib/ops/duration.ts";
import type { BoundedSelection, LetterFilter, LetterSelection } from "../../lib/ops/letter-selection.ts";
import { Refusal } from "./console-request.ts";

// Selections travel in query strings (the dry run) and in forms (the confirm) as plain fields:
//   mode=group  type=T (or untyped=1)  kind=K  error=E
//   mode=ids    id=1 id=2 …
//   mode=filter type=T  q=TEXT  since=DURATION   (the dead-letter page's filter)
//   mode=all
// plus upto=N on a confirm: the newest id its dry run listed.

const maxIds = 1000;

/** The filter fields of the dead-letter page (type, error text q, time window since). */
export function readFilterParams(params: URLSearchParams): LetterFilter {
  const text = (name: string) => {
    const value = params.get(name)?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const since = text("since");
  let sinceMs: number | undefined;
  if (since !== undefined) {
    try {
      sinceMs = parseDuration(since);
    } catch (error) {
      throw new Refusal(400, `time window: ${(error as Error).message}`);
    }
  }
  return { type: text("type"), errorText: text("q"), sinceMs };
}

/** The selection a query string or form names; a 400 Refusal when it names none. */
export function readSelection(params: URLSearchParams): BoundedSelection {
  const mode = params.get("mode");
  let selection: LetterSelection;
  if (mode === "ids") {
    const ids = params.getAll("id").flatMap((raw) => raw.split(","));
    if (ids.length === 0) throw new Refusal(400, "no dead letters selected: tick one or more first");
    if (ids.length > maxIds) throw new Refusal(400, `at most ${maxIds} ids at once: use a group or a filter`);
    const numbers = ids.map((raw) => {
      if (!/^\d{1,15}$/.test(raw.trim()) || Number(raw) === 0)
        throw new Refusal(400, `"${raw}" is not a dead-letter id`);
      return Number(raw);
    });
    selection = { kind: "ids", ids: [...new Set(numbers)] };
  } else if (mode === "group") {
    const kind = params.get("kind");
    const error = params.get("error");
    if (kind === null || error === null) throw new Refusal(400, "a group needs its error kind and error");
    const untyped = params.get("untyped") === "1";
    const type = params.get("type");
    if (!untyped && type === null) throw new Refusal(400, "a group needs its type (or untyped=1)");
    selection = { kind: "group", type: untyped ? null : type, errorKind: kind, error };
  } else if (mode === "filter") {
    selection = { kind: "filter", filter: readFilterParams(params) };
  } else if (mode === "all") {
    selection = { kind: "all" };
  } else {
    throw new Refusal(400, "choose the dead letters: a group, selected ids, a filter, or all");
  }
  const upto = params.get("upto");
  if (upto === null || upto === "") return { selection };
  if (!/^\d{1,15}$/.test(upto)) throw new Refusal(400, `"${upto}" is not a dead-letter id`);
  return { selection, upToId: Number(upto) };
}

/** The fields that name a selection, for a query string or hidden form inputs. */
export function selectionFields(bounded: BoundedSelection): [string, string][] {
  const { selection, upToId } = bounded;
  const fields: [string, string][] = [["mode", selection.kind]];
  switch (selection.kind) {
    case "ids":
      for (const id of selection.ids) fields.push(["id", String(id)]);
      break;
    case "group":
      if (selection.type === null) fields.push(["untyped", "1"]);
      else fields.push(["type", selection.type]);
      fields.push(["kind", selection.errorKind], ["error", selection.error]);
      break;
    case "filter":
      fields.push(...filterFields(selection.filter));
      break;
    case "all":
      break;
  }
  if (upToId !== undefined) fields.push(["upto", String(upToId)]);
  return fields;
}

/** The dead-letter page's filter as query fields. */
function filterFields(filter: LetterFilter): [string, string][] {
  const fields: [string, string][] = [];
  if (filter.type !== undefined) fields.push(["type", filter.type]);
  if (filter.errorText !== undefined) fields.push(["q", filter.errorText]);
  if (filter.sinceMs !== undefined) fields.push(["since", formatDuration(filter.sinceMs)]);
  return fields;
}

/** A path with these fields as its query string. */
export function withQuery(path: string, fields: readonly [string, string][]): string {
  const query = new URLSearchParams(fields).toString();
  return query === "" ? path : `${path}?${query}`;
}

/** How a person reads a selection. */
export function describeSelection(bounded: BoundedSelection): string {
  const { selection } = bounded;
  switch (selection.kind) {
    case "ids":
      return `the dead letter${selection.ids.length === 1 ? "" : "s"} ${selection.ids.join(", ")}`;
    case "group":
      return `the group ${selection.type ?? "(no type)"} · ${selection.errorKind} · “${selection.error}”`;
    case "filter": {
      const parts = describeFilter(selection.filter);
      return parts === "" ? "every parked dead letter" : `every parked dead letter ${parts}`;
    }
    case "all":
      return "every parked dead letter";
  }
}

/** "of type T, whose error contains “x”, failed within 1h", or "" for no filter. */
export function describeFilter(filter: LetterFilter): string {
  const parts: string[] = [];
  if (filter.type !== undefined) parts.push(`of type ${filter.type}`);
  if (filter.errorText !== undefined) parts.push(`whose error contains “${filter.errorText}”`);
  if (filter.sinceMs !== undefined) parts.push(`that failed within ${formatDuration(filter.sinceMs)}`);
  return parts.join(", ");
}

/** How a person reads a selection as the audit recorded it (see selectionRecord). */
export function describeRecorded(record: Readonly<Record<string, unknown>>): string {
  const bound = typeof record.upToId === "number" ? ` (up to id ${record.upToId})` : "";
  if (Array.isArray(record.ids)) return `ids ${record.ids.join(", ")}`;
  const group = record.group as { type?: string | null; errorKind?: string; error?: string } | undefined;
  if (group !== undefined) {
    return `group ${group.type ?? "(no type)"} · ${group.errorKind ?? "?"} · “${group.error ?? ""}”${bound}`;
  }
  const filter = record.filter as { type?: string; errorText?: string; sinceMs?: number } | undefined;
  if (filter !== undefined) {
    const parts = describeFilter(filter);
    return `${parts === "" ? "every parked letter" : `parked letters ${parts}`}${bound}`;
  }
  return `every parked letter${bound}`;
}
