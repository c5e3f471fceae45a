import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationsFolder, parseMigration } from "../../lib/db/migrator.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { createLoginRoles, type LoginRole } from "../helpers/login-roles.ts";
import { pgAdminUrl } from "../helpers/services.ts";
import { runOps } from "../ops/run-cli.ts";

// Least privilege in PostgreSQL (sql/0005_roles.sql): the runtime's group role can do its job and
// no more. The expected map below is THE decision per table and view of schema billing; a table
// without an entry fails the test, so a new migration cannot leave one undecided (or granted by
// accident).

type Role = "billing_app" | "billing_maintenance" | "billing_readonly";
type Privilege = "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "TRUNCATE" | "REFERENCES" | "TRIGGER";
const roles: readonly Role[] = ["billing_app", "billing_maintenance", "billing_readonly"];
const privileges: readonly Privilege[] = [
  "SELECT",
  "INSERT",
  "UPDATE",
  "DELETE",
  "TRUNCATE",
  "REFERENCES",
  "TRIGGER",
];
const none: readonly Privilege[] = [];
const app = (...p: Privilege[]) => ({ billing_app: p, billing_maintenance: none, billing_readonly: none });

const expectedTables: Record<string, Record<Role, readonly Privilege[]>> = {
  accounts: app("SELECT", "INSERT", "UPDATE"),
  // the ledger is append-only for everyone but its owner
  ledger_entries: app("SELECT", "INSERT"),
  customers: app("SELECT", "INSERT"),
  payments: app("SELECT", "INSERT", "UPDATE"),
  subscriptions: app("SELECT", "INSERT", "UPDATE"),
  invoices: app("SELECT", "INSERT", "UPDATE"),
  commands: app("SELECT", "INSERT"),
  reconcile_cursor: app("SELECT", "INSERT", "UPDATE"),
  // who replayed or purged what: append-only for the runtime too
  ops_audit: app("SELECT", "INSERT"),
  dead_letters: { ...app("SELECT", "INSERT", "UPDATE"), billing_maintenance: ["SELECT"] },
  // retention (billing-ops prune) deletes these, and only billing_maintenance may
  processed_messages: { ...app("SELECT", "INSERT"), billing_maintenance: ["SELECT", "DELETE"] },
  stripe_events: { ...app("SELECT", "INSERT"), billing_maintenance: ["SELECT", "DELETE"] },
  outbox: { ...app("SELECT", "INSERT", "UPDATE"), billing_maintenance: ["SELECT", "DELETE"] },
  // the reporting views: analysts and dashboards
  daily_transaction_volume: { ...app(), billing_readonly: ["SELECT"] },
  average_transaction_value: { ...app(), billing_readonly: ["SELECT"] },
  daily_revenue: { ...app(), billing_readonly: ["SELECT"] },
  subscription_churn: { ...app(), billing_readonly: ["SELECT"] },
  failed_payments_by_reason: { ...app(), billing_readonly: ["SELECT"] },
};

const appSequence = { billing_app: ["USAGE"], billing_maintenance: [], billing_readonly: [] };
const expectedSequences: Record<string, Record<Role, readonly string[]>> = {
  ledger_entries_id_seq: appSequence,
  outbox_id_seq: appSequence,
  dead_letters_id_seq: appSequence,
  ops_audit_id_seq: appSequence,
};

let database: TestDatabase;
let logins: Record<"app" | "maintenance" | "readonly", LoginRole> & { dropAll(): Promise<void> };
const clients: pg.Client[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  logins = await createLoginRoles({
    app: ["billing_app"],
    maintenance: ["billing_maintenance"],
    readonly: ["billing_readonly"],
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await database.drop();
  await logins.dropAll();
});

async function connectAs(role: LoginRole): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: role.urlOf(database.name) });
  await client.connect();
  clients.push(client);
  return client;
}

/** The SQLSTATE a statement fails with, or "ok". */
async function outcome(client: pg.Client, statement: string): Promise<string> {
  try {
    await client.query(statement);
    return "ok";
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

describe("the group roles", () => {
  it("are NOLOGIN and carry no attribute beyond their grants", async () => {
    const { rows } = await sql<{
      rolname: string;
      rolcanlogin: boolean;
      rolsuper: boolean;
      rolcreaterole: boolean;
      rolcreatedb: boolean;
      rolbypassrls: boolean;
      rolinherit: boolean;
    }>`SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolinherit
       FROM pg_roles WHERE rolname = ANY(${roles}) ORDER BY rolname`.execute(database.db);
    expect(rows).toEqual(
      [...roles].sort().map((rolname) => ({
        rolname,
        rolcanlogin: false,
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolbypassrls: false,
        rolinherit: true,
      })),
    );
  });

  it("hold exactly the decided privileges on every table and view of schema billing", async () => {
    const { rows: relations } = await sql<{ relname: string; relkind: string }>`
      SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'billing' AND c.relkind IN ('r', 'v', 'm', 'p', 'f') ORDER BY c.relname`.execute(
      database.db,
    );
    const undecided = relations.map((r) => r.relname).filter((name) => !(name in expectedTables));
    expect(undecided, "tables/views with no decision in expectedTables").toEqual([]);
    const gone = Object.keys(expectedTables).filter((name) => !relations.some((r) => r.relname === name));
    expect(gone, "decisions for tables that do not exist").toEqual([]);

    const { rows } = await sql<{ relname: string; role: Role; privilege: Privilege }>`
      SELECT c.relname, r.role, p.privilege
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      CROSS JOIN unnest(${roles}::text[]) AS r(role)
      CROSS JOIN unnest(${privileges}::text[]) AS p(privilege)
      WHERE n.nspname = 'billing' AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
        AND has_table_privilege(r.role, c.oid, p.privilege)`.execute(database.db);
    const actual: Record<string, Record<Role, Privilege[]>> = {};
    for (const { relname } of relations) {
      actual[relname] = { billing_app: [], billing_maintenance: [], billing_readonly: [] };
    }
    for (const row of rows) actual[row.relname]?.[row.role].push(row.privilege);
    const sorted = (map: Record<string, Record<Role, readonly Privilege[]>>) =>
      Object.fromEntries(
        Object.entries(map).map(([table, byRole]) => [
          table,
          Object.fromEntries(roles.map((role) => [role, [...byRole[role]].sort()])),
        ]),
      );
    expect(sorted(actual)).toEqual(sorted(expectedTables));
  });

  it("may use the sequences of the tables they insert into, and the schema, but create nothing in it", async () => {
    const { rows } = await sql<{ relname: string; role: Role; privilege: string }>`
      SELECT c.relname, r.role, p.privilege
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      CROSS JOIN unnest(${roles}::text[]) AS r(role)
      CROSS JOIN unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) AS p(privilege)
      WHERE n.nspname = 'billing' AND c.relkind = 'S'
        AND has_sequence_privilege(r.role, c.oid, p.privilege)`.execute(database.db);
    const { rows: sequences } = await sql<{ relname: string }>`
      SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'billing' AND c.relkind = 'S' ORDER BY 1`.execute(database.db);
    expect(sequences.map((s) => s.relname)).toEqual(Object.keys(expectedSequences).sort());
    const actual = Object.fromEntries(
      sequences.map(({ relname }) => [
        relname,
        Object.fromEntries(
          roles.map((role) => [
            role,
            rows.filter((r) => r.relname === relname && r.role === role).map((r) => r.privilege),
          ]),
        ),
      ]),
    );
    expect(actual).toEqual(expectedSequences);

    const { rows: schema } = await sql<{ role: Role; usage: boolean; create: boolean }>`
      SELECT r.role, has_schema_privilege(r.role, 'billing', 'USAGE') AS usage,
             has_schema_privilege(r.role, 'billing', 'CREATE') AS create
      FROM unnest(${roles}::text[]) AS r(role) ORDER BY 1`.execute(database.db);
    expect(schema).toEqual([...roles].sort().map((role) => ({ role, usage: true, create: false })));
  });
});

describe("a login role granted billing_app", () => {
  // No DDL, no TRUNCATE, and the ledger cannot be rewritten: each is a permission error (42501).
  it.each([
    ["DROP TABLE", "DROP TABLE billing.ledger_entries"],
    ["DROP TABLE of another table", "DROP TABLE billing.accounts CASCADE"],
    ["TRUNCATE", "TRUNCATE billing.ledger_entries"],
    ["TRUNCATE of the inbox", "TRUNCATE billing.processed_messages"],
    ["UPDATE of the ledger", "UPDATE billing.ledger_entries SET amount = amount * 2"],
    ["DELETE from the ledger", "DELETE FROM billing.ledger_entries"],
    ["CREATE TABLE in billing", "CREATE TABLE billing.mine (id int)"],
    ["ALTER TABLE", "ALTER TABLE billing.accounts DROP CONSTRAINT accounts_balance_check"],
    ["DELETE from the inbox (retention's job)", "DELETE FROM billing.processed_messages"],
    ["SET ROLE to the schema owner", "SET ROLE root"],
  ])("is refused %s", async (_, statement) => {
    const client = await connectAs(logins.app);
    expect(await outcome(client, statement)).toBe("42501");
  });

  it("appends to the ledger and moves a balance, as the worker does", async () => {
    const client = await connectAs(logins.app);
    await client.query("BEGIN");
    await client.query(
      "INSERT INTO billing.accounts (account_id, currency, balance) VALUES ('acct-roles', 'usd', 500)",
    );
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO billing.ledger_entries (account_id, currency, amount, kind, source_id)
       VALUES ('acct-roles', 'usd', 500, 'deposit_credit', 'roles-test') RETURNING id`,
    );
    expect(rows).toHaveLength(1);
    await client.query("ROLLBACK");
  });

  it("reads which migrations ran (for doctor) and cannot change them", async () => {
    const client = await connectAs(logins.app);
    expect(await outcome(client, "SELECT name FROM public.kysely_migration")).toBe("ok");
    expect(await outcome(client, "DELETE FROM public.kysely_migration")).toBe("42501");
  });
});

describe("retention and reporting", () => {
  it("prune runs as billing_maintenance and is refused as billing_app", async () => {
    const old = sql`now() - interval '100 days'`;
    await sql`INSERT INTO billing.processed_messages (message_id, processed_at) VALUES ('stripe:evt_old', ${old})`.execute(
      database.db,
    );
    const asApp = await runOps(["prune", "--older-than", "90d"], {
      DATABASE_URL: logins.app.urlOf(database.name),
    });
    expect(asApp.code).toBe(1);
    expect(asApp.err).toMatch(/permission denied for table processed_messages/);

    const asMaintenance = await runOps(["prune", "--older-than", "90d", "--json"], {
      DATABASE_URL: logins.maintenance.urlOf(database.name),
    });
    expect(asMaintenance.code, asMaintenance.err).toBe(0);
    expect(asMaintenance.json<{ deleted: Record<string, number> }>().deleted.processed_messages).toBe(1);
  });

  it("billing_maintenance deletes only what retention drops", async () => {
    const client = await connectAs(logins.maintenance);
    expect(await outcome(client, "DELETE FROM billing.ledger_entries")).toBe("42501");
    expect(await outcome(client, "DELETE FROM billing.commands")).toBe("42501");
    expect(await outcome(client, "INSERT INTO billing.processed_messages (message_id) VALUES ('x')")).toBe(
      "42501",
    );
  });

  it("billing_readonly reads the reporting views and no table", async () => {
    const client = await connectAs(logins.readonly);
    for (const view of Object.keys(expectedTables).filter(
      (t) => expectedTables[t]?.billing_readonly.length,
    )) {
      expect(await outcome(client, `SELECT * FROM billing.${view}`), view).toBe("ok");
    }
    expect(await outcome(client, "SELECT * FROM billing.ledger_entries")).toBe("42501");
    expect(await outcome(client, "SELECT * FROM billing.accounts")).toBe("42501");
  });
});

describe("the migration", () => {
  // Roles are global to the cluster while databases are migrated concurrently (test templates,
  // several databases of one server): creating them must be idempotent and survive a lost race.
  it("creates missing roles once when several databases run it at the same time, and again is a no-op", async () => {
    const { up } = parseMigration(
      "0005_roles.sql",
      readFileSync(join(migrationsFolder(), "0005_roles.sql"), "utf8"),
    );
    const suffix = `${Date.now()}_${process.pid}`;
    const renamed = up.replace(/\bbilling_(app|maintenance|readonly)\b/g, `bft_${suffix}_$1`);
    const names = ["app", "maintenance", "readonly"].map((r) => `bft_${suffix}_${r}`);
    const databases = await Promise.all([1, 2, 3].map(() => createTestDatabase()));
    const admins = databases.map((d) => new pg.Client({ connectionString: d.url }));
    try {
      await Promise.all(admins.map((c) => c.connect()));
      // each in its own transaction, held open so the creations overlap
      await Promise.all(
        admins.map(async (c) => {
          await c.query("BEGIN");
          await c.query(renamed);
          await c.query("SELECT pg_sleep(0.3)");
          await c.query("COMMIT");
        }),
      );
      await admins[0]?.query(renamed);
      const { rows } = await sql<{ rolname: string }>`
        SELECT rolname FROM pg_roles WHERE rolname = ANY(${names}) ORDER BY 1`.execute(database.db);
      expect(rows.map((r) => r.rolname)).toEqual([...names].sort());
    } finally {
      await Promise.all(admins.map((c) => c.end().catch(() => undefined)));
      await Promise.all(databases.map((d) => d.drop()));
      const cleanup = new pg.Client({ connectionString: pgAdminUrl });
      await cleanup.connect();
      for (const name of names) await cleanup.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(name)}`);
      await cleanup.end();
    }
  });

  // The down step revokes this database's grants and keeps the cluster-wide roles (other
  // databases, and deployments' login users, still depend on them); up restores the grants.
  it("goes down by revoking this database's grants and leaves the roles", async () => {
    const scratch = await createTestDatabase();
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    try {
      const { down, up } = parseMigration(
        "0005_roles.sql",
        readFileSync(join(migrationsFolder(), "0005_roles.sql"), "utf8"),
      );
      const appCan = async () =>
        (
          await client.query<{ ok: boolean }>(
            "SELECT has_table_privilege('billing_app', 'billing.ledger_entries', 'INSERT') AS ok",
          )
        ).rows[0]?.ok;
      await client.query(down);
      expect(await appCan()).toBe(false);
      const { rows } = await client.query("SELECT 1 FROM pg_roles WHERE rolname = 'billing_app'");
      expect(rows).toHaveLength(1);
      await client.query(up);
      expect(await appCan()).toBe(true);
    } finally {
      await client.end();
      await scratch.drop();
    }
  });
});
