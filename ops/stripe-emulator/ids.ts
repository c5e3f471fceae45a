import { randomFillSync } from "node:crypto";

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const idLength = 24;
// Random bytes are drawn in blocks: one syscall per ~170 ids instead of one per id.
const pool = Buffer.alloc(4096);
let offset = pool.length;

/** A Stripe-shaped id: the prefix, an underscore and 24 random base62 characters. */
export function newId(prefix: string): string {
  if (offset + idLength > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  let id = `${prefix}_`;
  // 256 % 62 leaves a slight bias; harmless for ids that only need to be unique.
  for (let i = 0; i < idLength; i++) id += alphabet[(pool[offset + i] as number) % 62];
  offset += idLength;
  return id;
}
