import { randomBytes } from "node:crypto";
import type { Fleet } from "../fleet-runner/fleet.ts";
import { freePort } from "../fleet-runner/free-port.ts";
import { waitForReady } from "../fleet-runner/wait.ts";

// The demo ends with the ops console on its data: the Procfile's `console` process with a login
// made for this run, reading the demo's processes' /metrics for their readiness and rates.

export interface DemoConsole {
  readonly url: string;
  readonly user: string;
  readonly token: string;
}

/** Starts the console on the demo's database and vhost and waits until it answers. */
export async function startDemoConsole(
  fleet: Fleet,
  env: Record<string, string>,
  processes: Readonly<Record<string, string>>,
): Promise<DemoConsole> {
  const port = await freePort();
  const user = "demo";
  const token = randomBytes(12).toString("hex");
  const process = fleet.startProcfile("console", "console", {
    ...env,
    CONSOLE_PORT: String(port),
    CONSOLE_USERS: `${user}:${token}`,
    CONSOLE_METRICS_URLS: Object.entries(processes)
      .map(([name, url]) => `${name}=${url}`)
      .join(","),
  });
  const url = `http://127.0.0.1:${port}/`;
  const authorization = `Basic ${Buffer.from(`${user}:${token}`).toString("base64")}`;
  await waitForReady(`${url}static/console.css`, process, 30_000, { authorization });
  return { url, user, token };
}

/** What the demo prints about the console at its end. */
export function consoleNote(
  login: DemoConsole,
  options: { keep: boolean; databaseUrl: string; amqpUrl: string; retryDelaysMs: string },
): string {
  const lines = [
    "",
    `ops console on this day's data: ${login.url}dead-letters`,
    `  log in as ${login.user} / ${login.token}`,
  ];
  if (options.keep) {
    lines.push("  the console and the fleet keep running on this data: Ctrl-C stops them");
  } else {
    lines.push(
      "  it stops with the demo: `npm run demo -- --keep` leaves it running, or start it later on this data:",
      `  DATABASE_URL=${options.databaseUrl} AMQP_URL=${options.amqpUrl} \\`,
      `    RETRY_DELAYS_MS=${options.retryDelaysMs} CONSOLE_USERS=${login.user}:${login.token} npm run ops -- console`,
      "  (then open http://localhost:8081/)",
    );
  }
  return lines.join("\n");
}

/** Waits until a signal ends the process (runFleetMain stops the fleet then). */
export function untilStopped(): Promise<never> {
  return new Promise<never>(() => {
    // a pending promise alone does not keep Node running
    setInterval(() => undefined, 60_000);
  });
}
