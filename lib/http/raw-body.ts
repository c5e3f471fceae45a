import type { IncomingMessage } from "node:http";

/** The largest request body the ingester reads: Stripe's events are far smaller. */
export const maxBodyBytes = 1024 * 1024;

export type RawBody =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly reason: "too_large" | "aborted" };

const tooLarge: RawBody = { ok: false, reason: "too_large" };
const aborted: RawBody = { ok: false, reason: "aborted" };
const empty: RawBody = { ok: true, body: Buffer.alloc(0) };

/**
 * Reads the exact request bytes, at most `limit`. A Content-Length over the limit is refused before
 * a byte is read; a body that grows past it is refused at that chunk, and the rest is never read
 * (the caller answers 413 and closes the connection).
 */
export function readRawBody(req: IncomingMessage, limit = maxBodyBytes): Promise<RawBody> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve(tooLarge);
  if (declared === "0") return Promise.resolve(empty);
  return new Promise<RawBody>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: RawBody) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("close", onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // stop pulling bytes off the socket: nothing more of this body is read or kept
        req.pause();
        finish(tooLarge);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      const [first] = chunks;
      finish({
        ok: true,
        body: chunks.length === 1 && first !== undefined ? first : Buffer.concat(chunks, size),
      });
    };
    const onAbort = () => finish(aborted);
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onAbort);
    req.on("close", onAbort);
  });
}
