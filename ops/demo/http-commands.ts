import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "../../lib/domain/commands.ts";

/** Sends commands to the ingester's POST /v1/commands with a Bearer token. */
export interface HttpCommands {
  /** Resolves on 202 (the command is on the broker); retries 429/503 as told; throws on any other answer. */
  send(command: Command): Promise<void>;
  readonly sent: () => number;
}

const maxAttempts = 20;

/** A sender for the ingester at `baseUrl` using `token`. */
export function createHttpCommands(baseUrl: string, token: string): HttpCommands {
  let sent = 0;
  return {
    sent: () => sent,
    async send(command) {
      for (let attempt = 1; ; attempt += 1) {
        const response = await fetch(`${baseUrl}/v1/commands`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(command),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        if (response.status === 202) {
          sent += 1;
          return;
        }
        if ((response.status === 429 || response.status === 503) && attempt < maxAttempts) {
          const retryAfterS = Number(response.headers.get("retry-after") ?? "1");
          await sleep(Math.min(5000, Math.max(50, (Number.isFinite(retryAfterS) ? retryAfterS : 1) * 1000)));
          continue;
        }
        throw new Error(
          `POST /v1/commands ${command.type} ${command.id}: ${response.status} ${text.slice(0, 300)}`,
        );
      }
    },
  };
}
