import { ConfigError } from "../../../lib/config.ts";
import { opsLogger } from "../ops-logger.ts";
import { noPositionals } from "../option-values.ts";
import type { Verb } from "../verb.ts";

export const opsConsole: Verb = {
  words: ["console"],
  summary: "runs the ops web console in the foreground (the `console` process) until Ctrl-C",
  usage: "console",
  options: {},
  help: [
    "Serves the console on CONSOLE_PORT (default 8081) for the users of CONSOLE_USERS",
    "(name:token,…; a token may be sha256=<hex>): the fleet, the dead letters (grouped, shown,",
    "replayed, purged) and the audit. CONSOLE_METRICS_URLS (name=url,…) names processes whose",
    "/metrics and /readyz it shows. Log in with HTTP Basic (your name and token) or send",
    "`Authorization: Bearer <token>`.",
  ].join("\n"),
  async run({ config, signal, notice }, _values, positionals) {
    noPositionals(positionals);
    if (config.consoleUsers.length === 0) {
      throw new ConfigError(
        "CONSOLE_USERS",
        "required by console (name:token,…; a token may be sha256=<hex>)",
      );
    }
    // Loaded here: every other verb starts without the console's modules.
    const { startConsole } = await import("../../../workers/console.ts");
    const running = await startConsole(config, opsLogger(config));
    notice(`console listening on http://localhost:${running.port}/ (Ctrl-C stops it)`);
    if (!signal.aborted)
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
    await running.stop();
    return { ok: true, lines: ["console stopped"], json: { port: running.port, stopped: true } };
  },
};
