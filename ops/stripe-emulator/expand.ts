import { findObject, type Store } from "./store.ts";

/**
 * Applies `expand[]` paths (e.g. "latest_charge", "data.customer") to a copy of `body`: each id found
 * at the path becomes the stored object. Paths the emulator cannot expand are left as ids.
 */
export function expand(store: Store, body: object, paths: readonly string[]): object {
  if (paths.length === 0) return body;
  const copy = structuredClone(body) as Record<string, unknown>;
  for (const path of paths) expandAt(store, copy, path.split("."));
  return copy;
}

function expandAt(store: Store, node: unknown, segments: readonly string[]): void {
  if (Array.isArray(node)) {
    for (const item of node) expandAt(store, item, segments);
    return;
  }
  const [head, ...rest] = segments;
  if (head === undefined || node === null || typeof node !== "object") return;
  const record = node as Record<string, unknown>;
  const value = record[head];
  if (typeof value === "string") {
    const found = findObject(store, value);
    if (found !== undefined) record[head] = structuredClone(found);
  }
  if (rest.length > 0) expandAt(store, record[head], rest);
}
