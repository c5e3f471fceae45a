import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { brokerUserOf } from "../../lib/amqp/broker-url.ts";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { stripeEventMessage } from "../../lib/amqp/stripe-event-message.ts";
import { names } from "../../lib/amqp/topology.ts";
import { commandMessage } from "../../lib/client/command-message.ts";
import type { Command } from "../../lib/domain/commands.ts";
import type { Running } from "../../lib/lifecycle.ts";
import { type BrokerSession, openBrokerSession } from "../../lib/ops/broker-session.ts";
import { type StripeEmulator, startStripeEmulator } from "../../ops/stripe-emulator/server.ts";
import { startConsole } from "../../workers/console.ts";
import { startWorker } from "../../workers/worker.ts";
import { paymentIntentSucceeded } from "../domain/stripe-fixtures.ts";
import { testConfig, testLogger } from "../helpers/config.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { waitFor } from "../helpers/wait.ts";

// The console in a real browser (Debian's chromium, driven by playwright-core) over the real fleet:
// the worker parks what it cannot apply, an operator logs in, sees the groups, opens a letter,
// replays one group (dry run, then confirm) and purges another with a reason; the audit shows both
// with her name, the balance moves in Postgres, and a letter holding <script> stays inert text.
// Screenshots go to test-artifacts/console/ (ignored by git).

const services = useTestServices();
const alice = { username: "alice", password: "alice-token-0123456789" };
const script = "<script>alert(1)</script>";
const account = "acc_browser";
const artifacts = fileURLToPath(new URL("../../test-artifacts/console/", import.meta.url));
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let emulator: StripeEmulator;
let worker: Running;
let opsConsole: Running & { port: number };
let broker: BrokerSession;
let profile: string;
let browser: BrowserContext;
let base: string;
const delivered = new Set<string>();

beforeAll(async () => {
  await declareTopologyOnce(services.vhost.url, [100]);
  emulator = await startStripeEmulator();
  const env = { databaseUrl: services.database.url, amqpUrl: services.vhost.url, RETRY_DELAYS_MS: "100" };
  worker = await startWorker(
    testConfig("worker", { ...env, STRIPE_API_URL: emulator.url }),
    testLogger("worker"),
  );
  opsConsole = await startConsole(
    testConfig("console", {
      ...env,
      CONSOLE_PORT: "0",
      CONSOLE_USERS: `${alice.username}:${alice.password}`,
    }),
    testLogger("console"),
    // the shortest refresh the page's script takes, so the test sees one
    { host: "127.0.0.1", refreshSeconds: 2 },
  );
  base = `http://127.0.0.1:${opsConsole.port}`;
  broker = await openBrokerSession(services.vhost.url, { confirmTimeoutMs: 5000 });
  mkdirSync(artifacts, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), "bft-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1360, height: 900 },
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  await broker?.close();
  await opsConsole?.stop();
  await worker?.stop();
  await emulator?.close();
});

async function sendCommand(command: Record<string, unknown>, service = "orders"): Promise<void> {
  const message = commandMessage(command as unknown as Command, service);
  await broker.publishConfirmed(names.exchange, message.routingKey, message.content, message.options);
  delivered.add(String(command.id));
}

/** Publishes a Stripe event as the ingester does. */
async function deliverEvent(event: { id: string; type: string } & Record<string, unknown>): Promise<void> {
  // with the ingester's user_id: the worker applies Stripe events from trusted publishers only
  const message = stripeEventMessage({
    eventId: event.id,
    eventType: event.type,
    source: "stripe",
    userId: brokerUserOf(services.vhost.url),
  });
  await broker.publishConfirmed(
    names.exchange,
    message.routingKey,
    Buffer.from(JSON.stringify(event)),
    message.options,
  );
  delivered.add(event.id);
}

const parked = async () =>
  services.database.db
    .selectFrom("dead_letters")
    .select(["id", "type", "status", "message_id"])
    .orderBy("id")
    .execute();

const balance = async () =>
  (
    await services.database.db
      .selectFrom("accounts")
      .select("balance")
      .where("account_id", "=", account)
      .where("currency", "=", "usd")
      .executeTakeFirst()
  )?.balance;

/** The text of the first element a selector finds (waiting for it to exist). */
async function text(locator: Locator): Promise<string> {
  return ((await locator.first().textContent()) ?? "").trim();
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** The groups table as [type, count] rows. */
async function groupRows(page: Page): Promise<[string, number][]> {
  const rows = page.locator("table.groups tbody tr");
  const result: [string, number][] = [];
  for (let i = 0; i < (await rows.count()); i += 1) {
    const row = rows.nth(i);
    result.push([await text(row.locator("td").nth(1)), Number(await text(row.locator("td.count")))]);
  }
  return result;
}

it("parks, logs in, groups, shows, replays with a dry run, purges with a reason, audits, and stays inert", async () => {
  // 1. Park dead letters of two kinds (and one holding <script>), through the real worker.
  emulator.setFaults({ failRate: 1, failRateStatus: 500 });
  for (const [id, amount] of [
    ["dep-browser-1", 1500],
    ["dep-browser-2", 2500],
  ] as const) {
    await sendCommand({ id, type: "deposit.create", accountId: account, amount, currency: "usd" });
  }
  for (const id of ["evt_browser_bad_1", "evt_browser_bad_2"]) {
    const event = paymentIntentSucceeded() as {
      id: string;
      type: string;
      data: { object: Record<string, unknown> };
    };
    event.id = id;
    event.data.object.id = `pi_${id}`;
    delete event.data.object.amount_received;
    await deliverEvent(event);
  }
  await sendCommand(
    { id: script, type: "balance.charge", accountId: account, currency: "usd", reason: script },
    script,
  );
  await waitFor(async () => (await parked()).length === 5, "five dead letters parked", 30_000);
  const letters = await parked();
  const scriptLetter = letters.find((l) => l.message_id === script);
  expect(scriptLetter).toBeDefined();

  const page = await browser.newPage();
  const dialogs: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });

  // 2. Log in: without credentials the console answers 401; with alice's it lets her in.
  const challenges: (string | null)[] = [];
  page.on("response", (response) => {
    if (response.status() === 401) challenges.push(response.headers()["www-authenticate"] ?? null);
  });
  // Headless Chromium cannot ask for credentials: it gives up on the challenge.
  await expect(page.goto(`${base}/`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
  expect(challenges[0]).toMatch(/^Basic realm=/);
  await browser.setHTTPCredentials({ ...alice, origin: base });
  const fleet = await page.goto(`${base}/`);
  expect(fleet?.status()).toBe(200);
  expect(await text(page.locator("header .who"))).toBe("signed in as alice");
  expect(await text(page.locator("table").first())).toContain("billing_queue");
  await shot(page, "fleet");
  // The fleet page refreshes its figures by itself, without loading the page again.
  let navigations = 0;
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });
  const readAt = await text(page.locator("[data-refresh] time"));
  await waitFor(
    async () => (await text(page.locator("[data-refresh] time"))) !== readAt,
    "a refresh",
    8000,
    200,
  );
  expect(navigations).toBe(0);

  // 3. Both kinds as groups with their counts.
  await page.click("header nav >> text=Dead letters");
  await page.waitForURL(`${base}/dead-letters`);
  const groups = await groupRows(page);
  expect(groups).toEqual(
    expect.arrayContaining([
      ["deposit.create", 2],
      ["payment_intent.succeeded", 2],
      ["balance.charge", 1],
    ]),
  );
  expect(groups).toHaveLength(3);
  await shot(page, "dead-letters");

  // 4. Open one: headers, properties, attempts, error and the body pretty-printed.
  const deposit = letters.find((l) => l.message_id === "dep-browser-1");
  await page.click(`table.letters a[href="/dead-letters/${deposit?.id}"]`);
  expect(await text(page.locator("h1"))).toContain(`Dead letter ${deposit?.id}`);
  expect(await text(page.locator("pre.headers"))).toContain('"x-error-kind": "exhausted"');
  expect(await text(page.locator("pre.properties"))).toContain('"messageId": "dep-browser-1"');
  expect(await text(page.locator("pre.body"))).toContain('"accountId": "acc_browser"');
  expect(await text(page.locator("pre.body"))).toContain('\n  "amount": 1500,');
  await shot(page, "dead-letter");

  // 5. Stripe is back: replay the deposit group, dry run first, then confirm; the balance moves.
  emulator.setFaults({});
  await page.goto(`${base}/dead-letters`);
  await page.locator('table.groups tr[data-group-type="deposit.create"] >> text=Replay…').click();
  expect(await text(page.locator(".dry-run"))).toContain("2 dead letters would be replayed");
  expect((await parked()).filter((l) => l.status === "parked")).toHaveLength(5);
  await shot(page, "replay-dry-run");
  await page.click("form.confirm button[type=submit]");
  await page.waitForURL(/\/audit\/\d+$/);
  expect(await text(page.locator(".outcome"))).toBe("alice replayed 2 dead letters.");
  // The deposits' PaymentIntents succeed at Stripe; their webhooks credit the balance once.
  await waitFor(
    async () => {
      for (const event of emulator.events()) {
        if (!delivered.has(event.id)) await deliverEvent(event as unknown as { id: string; type: string });
      }
      return (await balance()) === 4000;
    },
    "the replayed deposits credited (1500 + 2500)",
    20_000,
    100,
  );

  // 6. Purge the other group, with a reason.
  await page.goto(`${base}/dead-letters`);
  await page.locator('table.groups tr[data-group-type="payment_intent.succeeded"] >> text=Purge…').click();
  expect(await text(page.locator(".dry-run"))).toContain("2 dead letters would be purged");
  await page.fill("textarea#reason", "test events from a broken integration");
  await page.click("form.confirm button[type=submit]");
  await page.waitForURL(/\/audit\/\d+$/);
  expect(await text(page.locator(".outcome"))).toBe("alice purged 2 dead letters.");
  const after = await parked();
  expect(after.filter((l) => l.type === "payment_intent.succeeded").map((l) => l.status)).toEqual([
    "purged",
    "purged",
  ]);
  expect(after.filter((l) => l.type === "deposit.create").map((l) => l.status)).toEqual([
    "replayed",
    "replayed",
  ]);

  // 7. Both actions under /audit, with alice's name.
  await page.click("header nav >> text=Audit");
  const rows = page.locator("table.audit tbody tr");
  expect(await rows.count()).toBe(2);
  expect(await text(rows.nth(0).locator("td.action"))).toBe("purge");
  expect(await text(rows.nth(1).locator("td.action"))).toBe("replay");
  for (const i of [0, 1]) expect(await text(rows.nth(i).locator("td.actor"))).toBe("alice");
  expect(await text(rows.nth(0))).toContain("test events from a broken integration");
  await shot(page, "audit");

  // 8. The letter holding <script> renders as text: visible, and no dialog ever opened.
  await page.goto(`${base}/dead-letters/${scriptLetter?.id}`);
  expect(await text(page.locator("pre.body"))).toContain(`"reason": "${script}"`);
  expect(await text(page.locator("dl.facts"))).toContain(script);
  await page.goto(`${base}/dead-letters`);
  expect(await text(page.locator("table.letters"))).toContain(script);
  // The only script of the page is the console's own file.
  expect(await page.locator("script").count()).toBe(1);
  expect(await page.locator("script").getAttribute("src")).toBe("/static/console.js");
  await shot(page, "script-letter");
  expect(dialogs).toEqual([]);
}, 60_000);
