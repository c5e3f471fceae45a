import { invalidRequest } from "./stripe-error.ts";

/** A decoded Stripe form value: a string leaf, a nested object, or an array. */
export type Param = string | Params | Param[];
export interface Params {
  [key: string]: Param;
}

// Keys that would reach Object.prototype if a request named them.
const forbiddenKeys = new Set(["__proto__", "constructor", "prototype"]);
const maxDepth = 12;

/**
 * Decodes the stripe package's form encoding (`a[b][c]=x`, `items[0][price]=p`, `expand[]=x`) into
 * nested objects; objects whose keys are exactly 0..n-1 become arrays, as Stripe reads them.
 */
export function decodeForm(encoded: string): Params {
  const root: Params = {};
  for (const [rawKey, value] of new URLSearchParams(encoded)) {
    assign(root, parseKey(rawKey), value, rawKey);
  }
  return arraysFromIndexes(root) as Params;
}

function parseKey(rawKey: string): string[] {
  const open = rawKey.indexOf("[");
  if (open === -1) return [checkedSegment(rawKey, rawKey)];
  const path = [checkedSegment(rawKey.slice(0, open), rawKey)];
  let rest = rawKey.slice(open);
  while (rest.length > 0) {
    const match = /^\[([^[\]]*)\]/.exec(rest);
    if (match === null) throw invalidRequest(`Invalid parameter name: ${rawKey}`, rawKey);
    path.push(match[1] === "" ? "[]" : checkedSegment(match[1] ?? "", rawKey));
    rest = rest.slice(match[0].length);
  }
  if (path.length > maxDepth) throw invalidRequest(`Parameter nested too deeply: ${rawKey}`, rawKey);
  return path;
}

function checkedSegment(segment: string, rawKey: string): string {
  if (segment === "" || forbiddenKeys.has(segment)) {
    throw invalidRequest(`Invalid parameter name: ${rawKey}`, rawKey);
  }
  return segment;
}

function assign(target: Params, path: string[], value: string, rawKey: string): void {
  let node: Params = target;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i] as string;
    const last = i === path.length - 1;
    // `expand[]=a&expand[]=b`: "[]" appends, so it gets the next free index.
    const key = segment === "[]" ? String(Object.keys(node).length) : segment;
    if (last) {
      if (Object.hasOwn(node, key)) throw invalidRequest(`Parameter given twice: ${rawKey}`, rawKey);
      node[key] = value;
      return;
    }
    const existing = Object.hasOwn(node, key) ? node[key] : undefined;
    if (existing === undefined) {
      const child: Params = {};
      node[key] = child;
      node = child;
    } else if (typeof existing === "object" && !Array.isArray(existing)) {
      node = existing;
    } else {
      throw invalidRequest(`Parameter is both a value and an object: ${rawKey}`, rawKey);
    }
  }
}

function arraysFromIndexes(value: Param): Param {
  if (typeof value === "string" || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  for (const key of keys) value[key] = arraysFromIndexes(value[key] as Param);
  const isList = keys.length > 0 && keys.every((key, index) => key === String(index));
  return isList ? keys.map((key) => value[key] as Param) : value;
}
