import { createHash } from "node:crypto";
import { request } from "node:http";
import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { declareTopologyOnce } from "../../lib/amqp/declare-once.ts";
import { names } from "../../lib/amqp/topology.ts";
import type { Running } from "../../lib/lifecycle.ts";
import { groupDeadLetters } from "../../lib/ops/dead-letter-groups.ts";
import { maxFormBytes } from "../../ops/console/console-server.ts";
import { startConsole } from "../../workers/console.ts";
import { testConfig, testLogger } from "../helpers/config.ts";
import { useTestServices } from "../helpers/isolated-services.ts";
import { insertDeadLetter } from "../ops/dead-letter-fixtures.ts";
import { drainQueue } from "../ops/queue-reader.ts";
import { type Answer, basic, call, confirmFields, openSession } from "./console-client.ts";

// The console over a real socket, on a real database and vhost: who may use it, what a POST
// needs, that a message's bytes only ever render as text, that scripts get the same data as JSON,
// and that the services it cannot reach are named on the page, never crashing it.

const services = useTestServices();
const alice = { name: "alice", token: "alice-token-0123456789" };
const bob = { name: "bob", token: "bob-token-0123456789ab" };
const bobDigest = createHash("sha256").update(bob.token).digest("hex");
const script = "<script>alert(1)</script>";
let opsConsole: Running & { port: number };
let base: string;
const asAlice = basic(alice.name, alice.token);

beforeAll(async () => {
  await declareTopologyOnce(services.vhost.url, [100]);
  opsConsole = await startConsole(
    testConfig("console", {
      databaseUrl: services.database.url,
      amqpUrl: services.vhost.url,
      RETRY_DELAYS_MS: "100",
      CONSOLE_PORT: "0",
      CONSOLE_USERS: `${alice.name}:${alice.token},${bob.name}:sha256=${bobDigest}`,
    }),
    testLogger("console"),
    { host: "127.0.0.1", serviceTimeoutMs: 1500 },
  );
  base = `http://127.0.0.1:${opsConsole.port}`;
});
afterAll(async () => {
  await opsConsole?.stop();
});
beforeEach(async () => {
  await services.database.db.deleteFrom("dead_letters").execute();
  await services.database.db.deleteFrom("ops_audit").execute();
  await drainQueue(services.vhost.url, names.queue);
});

const statusOf = async (id: number) =>
  (
    await services.database.db
      .selectFrom("dead_letters")
      .select("status")
      .where("id", "=", id)
      .executeTakeFirst()
  )?.status;
const auditCount = async () =>
  (await services.database.db.selectFrom("ops_audit").select("id").execute()).length;

describe("credentials", () => {
  it("answers 401 with a Basic challenge to anyone without a valid name and token", async () => {
    const cases = [
      undefined,
      basic(alice.name, "wrong-token-0123456789"),
      basic("mallory", alice.token),
      basic(bob.name, alice.token),
      `Bearer ${alice.token}x`,
      "Basic not-base64!",
      "Digest whatever",
    ];
    for (const auth of cases) {
      for (const path of ["/", "/dead-letters", "/static/console.js", "/audit.json", "/nowhere"]) {
        const answer = await call(base, path, auth === undefined ? {} : { auth });
        expect(answer.status, `${path} with ${auth}`).toBe(401);
        expect(answer.headers.get("www-authenticate")).toMatch(/^Basic realm="/);
        expect(answer.text).not.toContain("billing_queue");
      }
    }
  });

  it("lets a user in with Basic or Bearer, including a token configured as its sha256", async () => {
    for (const auth of [
      asAlice,
      `Bearer ${alice.token}`,
      basic(bob.name, bob.token),
      `bearer ${bob.token}`,
    ]) {
      const answer = await call(base, "/audit", { auth });
      expect(answer.status, auth).toBe(200);
    }
    expect((await call(base, "/audit", { auth: basic(bob.name, bob.token) })).text).toContain(
      "signed in as <strong>bob</strong>",
    );
  });

  // No inline script, nothing from elsewhere, no framing: a strict policy on every answer.
  it("sends a strict Content-Security-Policy and no-sniff on every answer", async () => {
    for (const [path, auth] of [
      ["/", asAlice],
      ["/static/console.css", asAlice],
      ["/nowhere", asAlice],
      ["/", undefined],
    ] as const) {
      const answer = await call(base, path, auth === undefined ? {} : { auth });
      const csp = answer.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
    }
    const page = (await call(base, "/", { auth: asAlice })).text;
    expect([...page.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual([
      '<script src="/static/console.js" defer>',
    ]);
    expect((await call(base, "/static/console.js", { auth: asAlice })).headers.get("content-type")).toMatch(
      /^text\/javascript/,
    );
  });
});

describe("actions", () => {
  async function dryRun(path: string, auth = asAlice): Promise<Answer> {
    const answer = await call(base, path, { auth });
    expect(answer.status, answer.text).toBe(200);
    return answer;
  }

  // Without the token of the user's session a POST changes nothing; with it, it acts.
  it("refuses a POST without the CSRF token of the session with 403, and changes nothing", async () => {
    const id = await insertDeadLetter(services.database.db, { type: "t.csrf", error: "e" });
    const page = await dryRun(`/dead-letters/purge?mode=ids&id=${id}`);
    const fields = confirmFields(page.text).filter(([name]) => name !== "csrf");
    const form = (extra: [string, string][]) =>
      new URLSearchParams([...fields, ["reason", "bad"], ...extra]).toString();
    const session = await openSession(base, asAlice);
    const other = await openSession(base, asAlice);
    const bobs = await openSession(base, basic(bob.name, bob.token));

    const attempts = [
      { body: form([]), cookie: session.cookie },
      { body: form([["csrf", ""]]), cookie: session.cookie },
      { body: form([["csrf", `${session.csrf}x`]]), cookie: session.cookie },
      // another session's token, and the right token without its cookie
      { body: form([["csrf", other.csrf]]), cookie: session.cookie },
      { body: form([["csrf", session.csrf]]) },
      // another user's token for the same cookie
      { body: form([["csrf", bobs.csrf]]), cookie: bobs.cookie },
    ];
    for (const attempt of attempts) {
      const answer = await call(base, "/dead-letters/purge", { auth: asAlice, ...attempt });
      expect(answer.status, attempt.body).toBe(403);
      expect(answer.text).toContain("CSRF token");
    }
    expect(await statusOf(id)).toBe("parked");
    expect(await auditCount()).toBe(0);

    const done = await call(base, "/dead-letters/purge", {
      auth: asAlice,
      body: form([["csrf", session.csrf]]),
      cookie: session.cookie,
    });
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toMatch(/^\/audit\/\d+$/);
    expect(await statusOf(id)).toBe("purged");
  });

  it("purges only with a reason, only after a dry run, and records who, what and why", async () => {
    const ids = [
      await insertDeadLetter(services.database.db, { type: "t.p", error: "same" }),
      await insertDeadLetter(services.database.db, { type: "t.p", error: "same" }),
    ];
    const session = await openSession(base, asAlice);
    const page = await dryRun("/dead-letters/purge?mode=group&type=t.p&kind=permanent&error=same");
    expect(page.text).toContain("<strong>2 dead letters</strong> would be purged");
    const fields = confirmFields(page.text).filter(([name]) => name !== "csrf");
    const post = (extra: [string, string][], fieldsUsed = fields) =>
      call(base, "/dead-letters/purge", {
        auth: asAlice,
        cookie: session.cookie,
        body: new URLSearchParams([...fieldsUsed, ["csrf", session.csrf], ...extra]).toString(),
      });

    const noReason = await post([["reason", "   "]]);
    expect(noReason.status).toBe(400);
    expect(noReason.text).toContain("a purge needs a reason");
    const noDryRun = await post(
      [["reason", "x"]],
      fields.filter(([name]) => name !== "upto"),
    );
    expect(noDryRun.status).toBe(400);
    expect(noDryRun.text).toContain("confirmed from its dry run");
    expect(await Promise.all(ids.map(statusOf))).toEqual(["parked", "parked"]);

    // A letter of the group parked after the dry run is not taken by its confirm.
    const later = await insertDeadLetter(services.database.db, { type: "t.p", error: "same" });
    const done = await post([["reason", "test events from the staging account"]]);
    expect(done.status).toBe(303);
    expect(await Promise.all([...ids, later].map(statusOf))).toEqual(["purged", "purged", "parked"]);
    const entry = await call(base, `${done.headers.get("location")}.json`, { auth: asAlice });
    expect(entry.json()).toMatchObject({
      actor: "alice",
      via: "console",
      action: "purge",
      count: 2,
      reason: "test events from the staging account",
      filter: { group: { type: "t.p", errorKind: "permanent", error: "same" }, upToId: ids[1] },
    });
  });

  it("replays by selected ids after the dry run, as a script with JSON", async () => {
    const id = await insertDeadLetter(services.database.db, { type: "t.r", error: "e" });
    const session = await openSession(base, `Bearer ${alice.token}`);
    const preview = await call(base, `/dead-letters/replay.json?mode=ids&id=${id}&id=999999`, {
      auth: `Bearer ${alice.token}`,
      cookie: session.cookie,
    });
    const plan = preview.json<{
      count: number;
      skipped: unknown[];
      confirm: { fields: [string, string][] };
    }>();
    expect(plan).toMatchObject({
      dryRun: true,
      count: 1,
      skipped: [{ id: 999999, reason: "no such dead letter" }],
    });
    const answer = await call(base, "/dead-letters/replay", {
      auth: `Bearer ${alice.token}`,
      accept: "application/json",
      cookie: session.cookie,
      body: new URLSearchParams([...plan.confirm.fields, ["csrf", session.csrf]]).toString(),
    });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json()).toMatchObject({ action: "replay", replayed: [id] });
    expect(await statusOf(id)).toBe("replayed");
    const [message] = await drainQueue(services.vhost.url, names.queue);
    expect(message?.properties.headers?.["x-replayed-from"]).toBe(String(id));
  });

  it("caps the size of a form (413) and refuses other methods (405)", async () => {
    const session = await openSession(base, asAlice);
    // A body declared over the cap is refused before a byte of it is read.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/dead-letters/purge`, {
        method: "POST",
        headers: {
          authorization: asAlice,
          cookie: session.cookie,
          "content-type": "application/x-www-form-urlencoded",
          "content-length": String(maxFormBytes + 1),
        },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.flushHeaders();
    });
    expect(status).toBe(413);
    const removed = await call(base, "/dead-letters", { auth: asAlice, method: "DELETE" });
    expect(removed.status).toBe(405);
    const posted = await call(base, "/audit", {
      auth: asAlice,
      cookie: session.cookie,
      body: `csrf=${session.csrf}`,
    });
    expect(posted.status).toBe(405);
    expect(posted.headers.get("allow")).toBe("GET, HEAD");
    expect((await call(base, "/nowhere", { auth: asAlice })).status).toBe(404);
    expect((await call(base, "/dead-letters/replay?mode=nothing", { auth: asAlice })).status).toBe(400);
    expect((await call(base, "/dead-letters?since=3%20days", { auth: asAlice })).status).toBe(400);
  });
});

describe("escaping", () => {
  // A message's bytes only ever become text: in the groups, the list, the letter and the dry run.
  it("renders <script> in a body, an error, headers, type and message id as text", async () => {
    const id = await insertDeadLetter(services.database.db, {
      type: script,
      messageId: script,
      routingKey: `command.${script}`,
      error: `invalid command ${script}`,
      body: JSON.stringify({ id: script, note: `"'&<img src=x onerror=alert(2)>` }),
      headers: { "x-source": script, [script]: "header name" },
      properties: { correlationId: script },
    });
    const group = (await groupDeadLetters(services.database.db))[0];
    const pages = [
      "/dead-letters",
      `/dead-letters/${id}`,
      `/dead-letters/replay?mode=ids&id=${id}`,
      `/dead-letters/purge?mode=group&type=${encodeURIComponent(script)}&kind=permanent&error=${encodeURIComponent(group?.error ?? "")}`,
      `/dead-letters?type=${encodeURIComponent(script)}&q=${encodeURIComponent("<b>")}`,
    ];
    for (const path of pages) {
      const page = await call(base, path, { auth: asAlice });
      expect(page.status, path).toBe(200);
      expect(page.text, path).not.toContain("<script>alert");
      expect(page.text, path).not.toContain("<img");
      expect(page.text, path).not.toContain("<b>");
      expect(page.text, path).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }
    const letter = (await call(base, `/dead-letters/${id}`, { auth: asAlice })).text;
    expect(letter).toContain("&quot;x-source&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;");
    expect(letter).toContain("&lt;img src=x onerror=alert(2)&gt;");
    // The JSON for scripts keeps the exact values.
    expect((await call(base, `/dead-letters/${id}.json`, { auth: asAlice })).json()).toMatchObject({
      type: script,
      headers: { "x-source": script },
    });
  });
});

describe("pages and JSON", () => {
  it("shows a letter whole: headers, properties, attempts, error and the body pretty-printed", async () => {
    const id = await insertDeadLetter(services.database.db, {
      messageId: "evt_whole",
      type: "invoice.paid",
      body: '{"id":"evt_whole","data":{"object":{"amount_paid":900}}}',
      error: "unknown account acc_7",
      errorKind: "exhausted",
      attempts: 6,
      headers: { "x-source": "stripe" },
    });
    const page = (await call(base, `/dead-letters/${id}`, { auth: asAlice })).text;
    expect(page).toContain(`Dead letter ${id} <span class="pill">parked</span>`);
    expect(page).toContain("[exhausted] unknown account acc_7");
    expect(page).toContain("<dt>attempts</dt><dd>6</dd>");
    expect(page).toContain("&quot;x-error-kind&quot;: &quot;exhausted&quot;");
    expect(page).toContain("&quot;contentType&quot;: &quot;application/json&quot;");
    expect(page).toContain(
      '<pre class="body">{\n  &quot;id&quot;: &quot;evt_whole&quot;,\n  &quot;data&quot;: {',
    );
    expect((await call(base, "/dead-letters/424242", { auth: asAlice })).status).toBe(404);
  });

  it("serves the dead-letter groups as JSON (suffix or Accept), equal to the shared operation", async () => {
    for (const m of [30, 10]) {
      await insertDeadLetter(services.database.db, {
        type: "a.b",
        error: "boom",
        failedAt: new Date(Date.now() - m * 60_000),
      });
    }
    await insertDeadLetter(services.database.db, {
      type: "c.d",
      error: "other",
      failedAt: new Date(Date.now() - 7200_000),
    });
    const expected = await groupDeadLetters(services.database.db);
    const bySuffix = (await call(base, "/dead-letters.json", { auth: asAlice })).json<{ groups: unknown }>();
    const byAccept = (await call(base, "/dead-letters", { auth: asAlice, accept: "application/json" })).json<{
      total: number;
      groups: unknown;
    }>();
    expect(bySuffix.groups).toEqual(expected);
    expect(byAccept).toMatchObject({ total: 3, groups: expected });
    const recent = (await call(base, "/dead-letters.json?since=1h&q=BOO", { auth: asAlice })).json<{
      groups: { type: string; count: number }[];
      letters: unknown[];
    }>();
    expect(recent.groups.map((g) => [g.type, g.count])).toEqual([["a.b", 2]]);
    expect(recent.letters).toHaveLength(2);
    const html = (await call(base, "/dead-letters?type=a.b", { auth: asAlice })).text;
    expect(html).toMatch(/<td class="num count">2<\/td><td><code>a\.b<\/code><\/td>/);
  });

  it("shows queues from the broker, the reconciler's cursor, and 'no reconciler' without its table", async () => {
    const publish = await import("../../lib/ops/broker-session.ts").then((m) =>
      m.openBrokerSession(services.vhost.url, { confirmTimeoutMs: 5000 }),
    );
    await publish.publishConfirmed(names.exchange, "stripe.x.y", Buffer.from("{}"), {});
    await publish.close();
    const fleet = (await call(base, "/fleet.json", { auth: asAlice })).json<{
      broker: { ok: boolean; queues: { queue: string; role: string; present: boolean; messages: number }[] };
      database: { ok: boolean; reconcile: { installed: boolean } };
    }>();
    expect(fleet.broker.ok).toBe(true);
    expect(fleet.broker.queues.map((q) => [q.queue, q.role, q.present])).toEqual([
      ["billing_queue", "main", true],
      ["billing_queue.retry.100", "retry", true],
      ["billing_queue.dlq", "dlq", true],
    ]);
    expect(fleet.broker.queues[0]?.messages).toBe(1);
    expect(fleet.database).toMatchObject({ ok: true, reconcile: { installed: true, cursors: [] } });
    expect((await call(base, "/", { auth: asAlice })).text).toContain("has not completed a pass yet");

    // The reconciler's cursor, as it writes it.
    await sql`INSERT INTO billing.reconcile_cursor (stream, cursor_created, last_pass_started_at, last_success_at,
      last_found_missing) VALUES ('stripe-events', 1764000000, now(), now(), 3)`.execute(
      services.database.db,
    );
    const withCursor = (await call(base, "/fleet.json", { auth: asAlice })).json<{
      database: { reconcile: { installed: boolean; cursors: Record<string, unknown>[] } };
    }>();
    expect(withCursor.database.reconcile).toMatchObject({
      installed: true,
      cursors: [{ stream: "stripe-events", cursorCreated: "2025-11-24T16:00:00.000Z", lastFoundMissing: 3 }],
    });
    const page = (await call(base, "/", { auth: asAlice })).text;
    expect(page).toContain("2025-11-24 16:00:00 UTC");
    expect(page).toContain('data-refresh="5"');

    // A database without the reconciler's table (its migration not applied, or rolled back).
    await sql`ALTER TABLE billing.reconcile_cursor RENAME TO reconcile_cursor_away`.execute(
      services.database.db,
    );
    try {
      const without = (await call(base, "/fleet.json", { auth: asAlice })).json<{
        database: { ok: boolean; reconcile: { installed: boolean } };
      }>();
      expect(without.database).toMatchObject({ ok: true, reconcile: { installed: false } });
      expect((await call(base, "/", { auth: asAlice })).text).toContain("No reconciler");
    } finally {
      await sql`ALTER TABLE billing.reconcile_cursor_away RENAME TO reconcile_cursor`.execute(
        services.database.db,
      );
    }
  });
});
