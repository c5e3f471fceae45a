import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { keepAlivePoster } from "./keep-alive-poster.ts";
import { pacedLoad, sign } from "./signed-events.ts";

// A separate process that POSTs signed webhooks at a fixed rate (open loop: the schedule does not
// wait for answers, as Stripe does not), for the end-to-end latency measurement. It writes, per
// event, when it was sent (epoch ms) and how the ingester answered.

/** What the sender writes to --out. */
export interface PacedResult {
  readonly rate: number;
  readonly seconds: number;
  /** [event id, sent at (epoch ms), HTTP status (0: socket error), answer latency ms]. */
  readonly records: [string, number, number, number][];
}

function main(): void {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      secret: { type: "string" },
      rate: { type: "string" },
      seconds: { type: "string" },
      accounts: { type: "string" },
      prefix: { type: "string" },
      out: { type: "string" },
    },
  });
  const url = new URL(values.url ?? "");
  const secret = values.secret ?? "";
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const total = Math.round(rate * seconds);
  const event = pacedLoad({ prefix: values.prefix ?? "paced", accounts: Number(values.accounts ?? "1000") });
  const poster = keepAlivePoster(url, 256);
  const records: PacedResult["records"] = [];
  const epochMs = () => performance.timeOrigin + performance.now();
  let sent = 0;
  let answered = 0;
  const startedAt = performance.now();

  const send = (index: number) => {
    const { id, body } = event(index);
    const sentAt = epochMs();
    poster.post(body, { "Stripe-Signature": sign(secret, body) }, (status) => finish(id, sentAt, status));
  };
  const finish = (id: string, sentAt: number, status: number) => {
    records.push([id, sentAt, status, epochMs() - sentAt]);
    answered += 1;
    if (answered === total) {
      writeFileSync(
        values.out ?? "paced.json",
        JSON.stringify({ rate, seconds, records } satisfies PacedResult),
      );
      poster.close();
    }
  };
  // Every 2 ms, send what the schedule says is due: an even rate without one timer per request.
  const timer = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - startedAt) / 1000) * rate));
    while (sent < due) send(sent++);
    if (sent >= total) clearInterval(timer);
  }, 2);
}

main();
