import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Running } from "../../lib/lifecycle.ts";
import { startConsole } from "../../workers/console.ts";
import { testConfig, testLogger } from "../helpers/config.ts";
import { basic, call, openSession } from "./console-client.ts";

// A console that cannot reach PostgreSQL (nothing listens) or RabbitMQ (a server that accepts and
// never answers) says so on its pages, within its deadline, in one line: no crash, no stack trace.
// Nothing here needs the real services: what is tested is their absence.

const auth = basic("oncall", "oncall-token-0123456789");
let silent: Server;
const sockets = new Set<Socket>();
let opsConsole: Running & { port: number };
let base: string;

beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const silentPort = (silent.address() as { port: number }).port;
  opsConsole = await startConsole(
    testConfig("console", {
      databaseUrl: "postgres://billing@127.0.0.1:1/billing",
      amqpUrl: `amqp://guest:guest@127.0.0.1:${silentPort}`,
      CONSOLE_PORT: "0",
      CONSOLE_USERS: "oncall:oncall-token-0123456789",
      CONSOLE_METRICS_URLS: "worker-1=http://127.0.0.1:1",
    }),
    testLogger("console"),
    { host: "127.0.0.1", serviceTimeoutMs: 700, scrapeIntervalMs: 100 },
  );
  base = `http://127.0.0.1:${opsConsole.port}`;
});
afterAll(async () => {
  await opsConsole?.stop();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent?.close(resolve));
});

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at |node:internal|\.ts:\d+/);

it("shows the fleet page with both services named as unreachable, quickly", async () => {
  const started = Date.now();
  const page = await call(base, "/", { auth });
  expect(Date.now() - started).toBeLessThan(3000);
  expect(page.status).toBe(200);
  expect(page.text).toMatch(/PostgreSQL unreachable: [^<]*ECONNREFUSED/);
  expect(page.text).toContain("RabbitMQ unreachable: ");
  noStack(page.text);
  const json = (await call(base, "/fleet.json", { auth })).json<{
    broker: { ok: boolean; error: string };
    database: { ok: boolean; error: string };
    processes: { name: string; ready: boolean | null; error: string }[];
  }>();
  expect(json.broker).toMatchObject({ ok: false, error: expect.stringMatching(/^RabbitMQ unreachable: /) });
  expect(json.database).toMatchObject({
    ok: false,
    error: expect.stringMatching(/^PostgreSQL unreachable: /),
  });
  expect(json.processes).toEqual([expect.objectContaining({ name: "worker-1", ready: null })]);
  expect(json.processes[0]?.error).toMatch(/fetch failed|ECONNREFUSED/);
});

it("answers 503 with the reason on the dead-letter pages and on an action, and keeps serving", async () => {
  for (const path of [
    "/dead-letters",
    "/dead-letters/1",
    "/dead-letters/replay?mode=all",
    "/audit",
    "/audit.json",
  ]) {
    const answer = await call(base, path, { auth });
    expect(answer.status, path).toBe(503);
    expect(answer.text, path).toContain("PostgreSQL unreachable");
    noStack(answer.text);
  }
  const session = await openSession(base, auth);
  const action = await call(base, "/dead-letters/replay", {
    auth,
    cookie: session.cookie,
    body: new URLSearchParams({ csrf: session.csrf, mode: "all", upto: "10" }).toString(),
  });
  expect(action.status).toBe(503);
  expect(action.text).toContain("the replay could not run");
  noStack(action.text);
  expect((await call(base, "/static/console.css", { auth })).status).toBe(200);
});
