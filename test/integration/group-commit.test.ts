/**
 * SQLite group commit (store/sqlite/group-commit.ts): works issued together share one transaction,
 * yet each is all-or-nothing on its own, and nothing resolves before the shared commit.
 */
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, transact, type Store } from "../../src/store/db.js";
import { migrate } from "../../src/store/migrations.js";
import { fixedRows, fixedRun, fixedStatement } from "../../src/store/fixed-statement.js";
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

  // The hot paths' fixed statements run straight on the connection's prepared statements inside the
  // shared transaction (fixed-statement.ts): the same all-or-nothing per work, nothing seen outside
  // before the commit, and a query from outside the group commit waits for it.
  const INSERT = fixedStatement({
    sqlite: "insert into projects (id, name, notification_emails, created_at, updated_at) values (?, ?, '[]', 0, 0)",
    postgres: "",
  });
  const COUNT = fixedStatement({ sqlite: "select count(*) as n from projects where id like ?", postgres: "" });

  it("fixed statements in works: each work all-or-nothing, invisible until the shared commit", async () => {
    const other = await openStore({ databaseUrl: tdb.url });
    try {
      let seenOutside = -1;
      let seenInside = -1;
      let outsideDone = false;
      const works = Array.from({ length: 10 }, (_, i) =>
        transact(store, async (trx) => {
          expect(await fixedRun(trx, INSERT, [`d${i}`, `d${i}`])).toBe(1);
          if (i === 3) throw new Error("work 3 fails after its insert");
          if (i === 9) {
            seenInside = (await fixedRows<{ n: number }>(trx, COUNT, ["d%"]))[0].n;
            seenOutside = (await other.db.selectFrom("projects").select("id").where("id", "like", "d%").execute()).length;
            // Yields while the transaction is open: the query from outside must not run inside it.
            await new Promise((resolve) => setTimeout(resolve, 20));
            expect(outsideDone).toBe(false);
          }
          return i;
        }),
      );
      await new Promise((resolve) => setImmediate(resolve));
      const outside = store.db
        .insertInto("projects")
        .values(project("outside"))
        .execute()
        .then(() => (outsideDone = true));
      const results = await Promise.allSettled(works);
      await outside;
      expect(results.map((r) => r.status)).toEqual(Array.from({ length: 10 }, (_, i) => (i === 3 ? "rejected" : "fulfilled")));
      expect(seenInside).toBe(9); // its own and the earlier works' rows, not the failed work's
      expect(seenOutside).toBe(0);
      const ids = (await other.db.selectFrom("projects").select("id").where("id", "like", "d%").execute()).map((r) => r.id).sort();
      expect(ids).toEqual(["d0", "d1", "d2", "d4", "d5", "d6", "d7", "d8", "d9"]);
      // Outside the group commit the same statements run through Kysely, in their own transaction.
      expect(await fixedRun(store.db, INSERT, ["solo", "solo"])).toBe(1);
      expect((await fixedRows<{ n: number }>(other.db, COUNT, ["solo"]))[0].n).toBe(1);
    } finally {
      await other.close();
    }
  });
});
