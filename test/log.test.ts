import { Writable } from "node:stream";
import { expect, it } from "vitest";
import { createLogger } from "../lib/log.ts";

// Signatures, tokens and secrets never reach a log line.
it("redacts authorization, stripe-signature and secrets", () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ level: "info", name: "t", destination });
  log.info({ headers: { authorization: "Bearer tok_secret", "stripe-signature": "t=1,v1=abc" } }, "req");
  log.info({ req: { headers: { authorization: "Bearer tok_secret2" } }, secret: "whsec_zzz" }, "req");
  const text = lines.join("");
  expect(text).not.toMatch(/tok_secret|v1=abc|whsec_zzz/);
  expect(text).toContain("[redacted]");
});
