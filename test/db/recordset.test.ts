import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordset, recordsetOfJson } from "../../lib/db/recordset.ts";
import { customersColumns } from "../../lib/db/schema/customers.ts";
import { outboxColumns } from "../../lib/db/schema/outbox.ts";
import { stripeEventsColumns } from "../../lib/db/schema/stripe-events.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

// The rows of a set-based statement travel as JSON documents packed into one bytea and are cut
// back out by byte offsets: every row must come back exactly, in order, whatever its characters.

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const awkward = ["", "plain", 'quote " and \\ backslash', "line\nbreak\ttab", "é ü ß — 日本語 🙂", "tail 🙂"];

describe("recordset", () => {
  it("gives back every row, in order, with multi-byte characters, escapes and nulls", async () => {
    const rows = awkward.map((text, i) => ({
      customer_id: `cus_${i}_${text}`,
      account_id: text,
      email: i % 2 === 0 ? null : `${text}@example.test`,
    }));
    const names = ["customer_id", "account_id", "email"] as const;
    const { rows: back } = await sql<Record<string, unknown>>`
      SELECT customer_id, account_id, email FROM ${recordset(customersColumns, names, rows)}`.execute(
      database.db,
    );
    expect(back).toEqual(rows);
  });

  it("types a jsonb column as jsonb", async () => {
    const payload = { id: "evt_1", data: { amount: 1200, note: "naïve 🙂", nested: [1, { a: null }] } };
    const rows = [{ event_id: "evt_1", type: "payment.succeeded", correlation_id: "c", payload }];
    const names = ["event_id", "type", "correlation_id", "payload"] as const;
    const { rows: back } = await sql<{ amount: string; payload: unknown }>`
      SELECT payload->'data'->>'amount' AS amount, payload FROM ${recordset(outboxColumns, names, rows)}`.execute(
      database.db,
    );
    expect(back).toEqual([{ amount: "1200", payload }]);
  });

  it("takes no rows", async () => {
    const { rows: back } = await sql`
      SELECT * FROM ${recordset(customersColumns, ["customer_id"], [])}`.execute(database.db);
    expect(back).toEqual([]);
  });
});

describe("recordsetOfJson", () => {
  it("cuts documents given in pieces by their sizes, bodies with newlines and multi-byte characters", async () => {
    const bodies = awkward.map((text, i) =>
      Buffer.from(JSON.stringify({ id: `evt_${i}`, object: "event", text }, null, 2)),
    );
    const parts: Buffer[] = [];
    const sizes: number[] = [];
    bodies.forEach((body, i) => {
      const head = Buffer.from(
        `{"event_id":"evt_${i}","type":${JSON.stringify(`t ${awkward[i]}`)},"event_created":${i},"payload":`,
      );
      const tail = Buffer.from("}");
      parts.push(head, body, tail);
      sizes.push(head.length + body.length + tail.length);
    });
    const names = ["event_id", "type", "event_created", "payload"] as const;
    const { rows: back } = await sql<{
      event_id: string;
      type: string;
      event_created: string;
      payload: unknown;
    }>`
      SELECT event_id, type, event_created, payload
      FROM ${recordsetOfJson(stripeEventsColumns, names, parts, sizes)}`.execute(database.db);
    expect(back).toEqual(
      bodies.map((body, i) => ({
        event_id: `evt_${i}`,
        type: `t ${awkward[i]}`,
        event_created: i,
        payload: JSON.parse(body.toString()),
      })),
    );
  });
});
