/**
 * SQLite group commit (store/sqlite/group-commit.ts): works issued together share one transaction,
 * yet each is all-or-nothing on its own, and nothing resolves before the shared commit.
 */
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, transact, type Store } from "../../src/store/db.js";
import { migrate } from "../../src/store/migrations.js";
import { createTestDatabase, type TestDatabase } from "../helpers/databases.js";

describe("SQLite group commit", () => {
  let tdb: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    tdb = await createTestDatabase("sqlite");
    store = await openStore({ databaseUrl: tdb.url });
    await migrate(store.db);
  });
  afterAll(async () => {
    await store?.close();
    await tdb?.drop();
  });

  const project = (id: string) => ({ id, name: id, notification_emails: "[]", created_at: 0, updated_at: 0 });

  it("commits concurrent works together, rolls back only the one that fails", async () => {
    expect(store.groupCommit).toBeDefined();
    const works = Array.from({ length: 20 }, (_, i) =>
      transact(store, async (trx) => {
        await trx
          .insertInto("projects")
          .values(project(`p${i}`))
          .execute();
        if (i === 7) throw new Error("work 7 fails after its insert");
        await trx
          .insertInto("projects")
          .values(project(`q${i}`))
          .execute();
        return i;
      }),
    );
    const results = await Promise.allSettled(works);
    expect(results.filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual(
      Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== 7),
    );
    expect((results[7] as PromiseRejectedResult).reason.message).toMatch(/work 7 fails/);
    const ids = (await store.db.selectFrom("projects").select("id").execute()).map((r) => r.id);
    expect(ids).toHaveLength(38);
    expect(ids).not.toContain("p7");
    // What resolved is on disk: another connection sees it.
    const other = await openStore({ databaseUrl: tdb.url });
    try {
      expect((await other.db.selectFrom("projects").select("id").execute()).length).toBe(38);
    } finally {
      await other.close();
    }
    expect(fs.existsSync(tdb.url)).toBe(true);
  });

  it("a constraint error inside a work rejects that work only", async () => {
    const [dup, fresh] = await Promise.allSettled([
      transact(store, (trx) => trx.insertInto("projects").values(project("p1")).execute()),
      transact(store, (trx) => trx.insertInto("projects").values(project("fresh")).execute()),
    ]);
    expect(dup.status).toBe("rejected");
    expect(fresh.status).toBe("fulfilled");
    expect(await store.db.selectFrom("projects").select("id").where("id", "=", "fresh").executeTakeFirst()).toBeDefined();
  });
});
