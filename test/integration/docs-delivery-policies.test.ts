/**
 * Every sample of docs/delivery-policies.md, run as written: the library call against a real
 * Hookline, each filter checked and matched against the sample body (as the docs say it matches),
 * the 422 detail as the API answers it, and the rate_limit and ordering bodies as PATCHes.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileFilter, filterErrors } from "../../src/domain/payload-filter.js";
import { createHookline } from "../../src/index.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";

const doc = fs.readFileSync(path.resolve(import.meta.dirname, "../../docs/delivery-policies.md"), "utf8");
const blocks = (lang: string) => [...doc.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);
const json = blocks("json").map((b) => JSON.parse(b) as Record<string, unknown>);
const body = json.find((b) => "subject" in b && "project_id" in b)!;
const detail = json.find((b) => "field" in b) as { field: string; message: string };
const policies = json.filter((b) => "rate_limit" in b || "ordering" in b);
const filters = json.filter((b) => b !== body && b !== detail && !policies.includes(b));

describe("docs/delivery-policies.md samples", () => {
  let hl: TestHookline;
  let hookId: string;
  beforeAll(async () => {
    hl = await startHookline({ dialect: "sqlite" });
    await hl.project("acme");
    hookId = (await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "docs", events: ["test-run.completed"], url: "https://ci.example.com/hooks" }))
      .body.id;
  });
  afterAll(async () => {
    await hl?.close();
  });

  it("has the samples this test expects", () => {
    expect(filters.length).toBe(5);
    expect(policies.length).toBe(2);
  });

  it("each filter is valid and matches the sample body, and the API accepts it", async () => {
    for (const f of filters) {
      expect(filterErrors(f), JSON.stringify(f)).toEqual([]);
      expect(compileFilter(JSON.stringify(f))(body), JSON.stringify(f)).toBe(true);
      const res = await hl.api("PATCH", `/api/v1/projects/acme/webhooks/${hookId}`, { filter: f });
      expect(res.status).toBe(200);
      expect(res.body.filter).toEqual(f);
    }
  });

  it("the 422 detail is the API's", async () => {
    const res = await hl.api("PATCH", `/api/v1/projects/acme/webhooks/${hookId}`, { filter: { subject: { status: { $gtx: 1 } } } });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([detail]);
  });

  it("the rate_limit and ordering bodies are accepted and shown", async () => {
    for (const p of policies) {
      const res = await hl.api("PATCH", `/api/v1/projects/acme/webhooks/${hookId}`, p);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject(p);
    }
  });

  it("the library sample creates the webhook it describes", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hookline-docs-"));
    const hookline = await createHookline({ databaseUrl: path.join(dir, "h.db"), adminToken: "docs-admin-token-0123456789abcdef", logLevel: "silent" });
    try {
      await hookline.projects.put("acme", { name: "Acme" });
      const [code] = blocks("ts");
      const hook = (await new Function("hookline", `return (async () => { ${code}\nreturn hook; })();`)(hookline)) as Record<string, unknown>;
      expect(hook).toMatchObject({ filter: { "subject.status": "failed" }, rate_limit: { per_second: 5 }, ordering: "fifo" });
    } finally {
      await hookline.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
