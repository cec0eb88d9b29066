/**
 * The transactional-publish samples of docs/host-apps.md, run as written (as ES modules importing
 * "hookline" from this package's dist/) against a fresh PostgreSQL database: each must store the
 * event its transaction published.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHookline } from "../../src/index.js";
import { DIALECTS, createTestDatabase, type TestDatabase } from "../helpers/databases.js";

const root = path.resolve(import.meta.dirname, "../..");
const doc = fs.readFileSync(path.join(root, "docs/host-apps.md"), "utf8");
const sample = (name: string) => {
  const found = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.startsWith(`// sample: ${name}\n`));
  if (!found) throw new Error(`no js block "// sample: ${name}" in docs/host-apps.md`);
  return found;
};

describe.skipIf(!DIALECTS.includes("postgres"))("docs/host-apps.md transactional publish samples", () => {
  let db: TestDatabase;
  let client: pg.Client;
  // Inside the package (.tmp/ is ignored by git), so `import "hookline"` resolves to this package.
  fs.mkdirSync(path.join(root, ".tmp"), { recursive: true });
  const dir = fs.mkdtempSync(path.join(root, ".tmp", "docs-samples-"));
  beforeAll(async () => {
    db = await createTestDatabase("postgres");
    const setup = await createHookline({
      databaseUrl: db.url,
      adminToken: "docs-admin-token-0123456789",
      secretKey: "docs-secret-key-0123456789abcdef0123456",
      logLevel: "silent",
    });
    await setup.projects.put("acme", { name: "Acme" });
    await setup.webhooks.create("acme", { name: "h", events: ["test-run.completed"], url: "https://hooks.example.com/in" });
    await setup.close();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query("create table test_runs (id text primary key, status text not null)");
    await client.query("insert into test_runs values ('TR-7', 'running'), ('TR-8', 'running')");
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ["host-apps pg", "TR-7"],
    ["host-apps kysely", "TR-8"],
  ])("%s runs and publishes in its transaction", (name, runId) => {
    const file = path.join(dir, `${name.replace(/\W+/g, "-")}.mjs`);
    fs.writeFileSync(file, sample(name));
    const r = spawnSync(process.execPath, [file], {
      cwd: dir, // not the repository: its ./data may hold what `npm start` wrote
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        HOOKLINE_ADMIN_TOKEN: "docs-admin-token-0123456789",
        HOOKLINE_SECRET_KEY: "docs-secret-key-0123456789abcdef0123456",
        LOG_LEVEL: "silent",
      },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    return (async () => {
      expect((await client.query("select status from test_runs where id = $1", [runId])).rows[0].status).toBe("completed");
      const events = await client.query(
        "select e.payload, (select count(*) from deliveries d where d.event_id = e.id) as n from events e where e.event = 'test-run.completed'",
      );
      const mine = events.rows.filter((row) => JSON.parse(row.payload).subject.id === runId);
      expect(mine).toHaveLength(1);
      expect(Number(mine[0].n)).toBe(1);
    })();
  });
});
