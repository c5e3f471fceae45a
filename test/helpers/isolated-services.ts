import { afterAll, beforeAll } from "vitest";
import { createTestDatabase, type TestDatabase } from "./database.ts";
import { type TestVhost, testVhost } from "./vhost.ts";

/** The database and vhost of one test file (or describe block); read them inside tests and hooks. */
export interface TestServices {
  readonly database: TestDatabase;
  readonly vhost: TestVhost;
}

/** Creates a database and a vhost of their own before the tests, and drops them after. */
export function useTestServices(): TestServices {
  let database: TestDatabase | undefined;
  let vhost: TestVhost | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    vhost = testVhost();
    await vhost.create();
  });
  afterAll(async () => {
    await database?.drop();
    await vhost?.delete();
  });
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the test ${what} exists only once beforeAll has run`);
    return value;
  };
  return {
    get database() {
      return ready(database, "database");
    },
    get vhost() {
      return ready(vhost, "vhost");
    },
  };
}
